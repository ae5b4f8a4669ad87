/**
 * The codes of the load tester's own errors (ToolError: bad options, unreadable inputs, a target
 * process that cannot be sampled), as opposed to the errors of the calls it makes, which it counts
 * by `aiges-code`. Each is stable and documented in docs/xtest.md; the CLI prints it and exits 2.
 */
import { ToolError } from '../errors.js';

export const XtestCodes = {
  /** A flag or option has a bad value, or two options conflict. */
  INVALID_OPTION: 'XTEST_INVALID_OPTION',
  /** An input file or directory does not exist, cannot be read, or a directory holds no file. */
  INPUT_UNREADABLE: 'XTEST_INPUT_UNREADABLE',
  /** `--pid` names no running process, or /proc cannot be read. */
  PID_UNREADABLE: 'XTEST_PID_UNREADABLE',
  /** `--chart` names a file that is neither .svg nor .html, or it cannot be written. */
  CHART_UNWRITABLE: 'XTEST_CHART_UNWRITABLE',
} as const;

export type XtestCode = (typeof XtestCodes)[keyof typeof XtestCodes];

export const invalidOption = (message: string) => new ToolError(XtestCodes.INVALID_OPTION, message);
