/**
 * The codes of `aiges eval`'s own errors (ToolError, exit 2): it could not score as asked. A run
 * that scores but misses a threshold, or finds ids on one side only, exits 1 (docs/batch.md).
 */
import { ToolError } from '../errors.js';

export const EvalCodes = {
  /** A flag has a bad value (a malformed --threshold, a metric the task does not have). */
  INVALID_OPTION: 'EVAL_INVALID_OPTION',
  /** --pred or --labels cannot be read, or --html cannot be written. */
  FILE_UNREADABLE: 'EVAL_FILE_UNREADABLE',
  /** A line or row is malformed: not JSON, no id, an id given twice, a value the task cannot score. */
  BAD_RECORD: 'EVAL_BAD_RECORD',
} as const;

export const invalidEvalOption = (message: string) => new ToolError(EvalCodes.INVALID_OPTION, message);
