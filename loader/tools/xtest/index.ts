/**
 * `aiges xtest` as a library: `runXtest(options)` runs a load test against a loader and returns
 * its report (the `--json` shape); `startXtest` does the same with live progress and a stop.
 */
export { runXtest, startXtest, type XtestProgress, type XtestRun } from './runner.js';
export {
  resolveOptions,
  parseDuration,
  DEFAULT_REQUESTS,
  XTEST_INPUTS,
  type XtestOptions,
  type XtestOptionsInput,
  type XtestTarget,
} from './options.js';
export { loadInputs, type InputSpec, type InputSet, type InputItem, type InputRules } from '../inputs.js';
export { parseInputFlags, parseParams, type InputFlags } from '../input-flags.js';
export { SCHEMA_VERSION, type XtestReport } from './report.js';
export { formatReport } from './report-text.js';
export { renderHtml, renderSvg, writeChart, chartFormatOf } from './chart.js';
export { XtestCodes, type XtestCode } from './errors.js';
export { ToolError, isToolError } from '../errors.js';
export type { LatencySummary } from './latency.js';
export type { ErrorCount } from './stats.js';
export type { ProcReport, ProcSample } from './proc-sampler.js';
export type { TimelineBucket, TimelineReport } from './timeline.js';
