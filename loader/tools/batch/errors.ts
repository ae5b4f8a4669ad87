/**
 * The codes of `aiges batch`'s own errors (ToolError, exit 2): the job could not start as asked.
 * A call that fails is not one of these: it goes to errors.jsonl with its aiges-code and the job
 * goes on. Documented in docs/batch.md.
 */
import { ToolError } from '../errors.js';

export const BatchCodes = {
  /** A flag has a bad value, or two flags conflict. */
  INVALID_OPTION: 'BATCH_INVALID_OPTION',
  /** --input does not exist or cannot be read, or is of no known kind. */
  INPUT_UNREADABLE: 'BATCH_INPUT_UNREADABLE',
  /** --out cannot be created or written. */
  OUT_UNWRITABLE: 'BATCH_OUT_UNWRITABLE',
  /** An in-process plugin (or its config) failed to load. */
  LOAD: 'BATCH_LOAD',
} as const;

export const invalidBatchOption = (message: string) => new ToolError(BatchCodes.INVALID_OPTION, message);
