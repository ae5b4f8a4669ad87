/**
 * `aiges check`, end to end: resolve the target, read and prepare the samples (before loading the
 * plugin, so a broken samples file costs no model load), load the plugin, run every sample, fini.
 * Throws a ToolError (CheckCodes) when it cannot run at all; otherwise returns the report, passing or not.
 */
import { relative } from 'node:path';
import { loadSamples } from './samples.js';
import { openPlugin } from './plugin.js';
import { prepareSamples } from './requests.js';
import { runSamples, type SampleResult } from './run.js';
import { resolveTarget } from './target.js';

export interface CheckOptions {
  target: string;
  /** Samples file (default `<project>/samples/requests.toml`). */
  samples?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface CheckReport {
  ok: boolean;
  service: string;
  kind: string;
  entry: string;
  samplesFile: string;
  passed: number;
  failed: number;
  results: SampleResult[];
}

export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const target = resolveTarget(options.target, options.samples);
  const samplesFile = loadSamples(target.samples);
  const prepared = prepareSamples(samplesFile);
  const plugin = await openPlugin(target, options.env);
  let results: SampleResult[];
  try {
    results = await runSamples(plugin.dataplane, plugin.wrapper.schema, plugin.wrapper.id, prepared);
  } finally {
    await plugin.close();
  }
  const passed = results.filter((r) => r.ok).length;
  return {
    ok: passed === results.length,
    service: plugin.wrapper.id,
    kind: plugin.kind,
    entry: plugin.entry,
    samplesFile: relative(process.cwd(), target.samples) || target.samples,
    passed,
    failed: results.length - passed,
    results,
  };
}
