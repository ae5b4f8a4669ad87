/** The tools' one error type: its exit codes, and recognition by fields rather than by class. */
import { describe, expect, it } from 'vitest';
import { isToolError, ToolError, USAGE_EXIT_CODE } from '../../loader/tools/errors.js';
import { ImageCodes, imageError } from '../../loader/tools/image/errors.js';
import { XtestCodes } from '../../loader/tools/xtest/errors.js';

describe('ToolError', () => {
  it('carries a string code, the message, a cause, and exit code 2 unless told otherwise', () => {
    const cause = new Error('underneath');
    const err = new ToolError(XtestCodes.INPUT_UNREADABLE, 'cannot read x', { cause });
    expect(err).toMatchObject({ name: 'ToolError', code: 'XTEST_INPUT_UNREADABLE', message: 'cannot read x', exitCode: USAGE_EXIT_CODE });
    expect(err.cause).toBe(cause);
    expect(new ToolError('X', 'm', { exitCode: 1 }).exitCode).toBe(1);
  });

  it("gives aiges image's failed build exit 1 and its other errors exit 2", () => {
    expect(imageError(ImageCodes.BUILD_FAILED, 'docker failed').exitCode).toBe(1);
    expect(imageError(ImageCodes.NO_BUILDER, 'none').exitCode).toBe(2);
  });

  it('is recognised by its fields, optionally within one catalog', () => {
    const err = new ToolError(XtestCodes.INVALID_OPTION, 'bad');
    expect(isToolError(err)).toBe(true);
    expect(isToolError(err, XtestCodes)).toBe(true);
    expect(isToolError(err, ImageCodes)).toBe(false);
    // Another copy of the class (a bundled build) is still recognised.
    expect(isToolError({ code: 'E_CHECK_LOAD', exitCode: 2, message: 'x' })).toBe(true);
    // A system error has a string code but no exit code.
    expect(isToolError(Object.assign(new Error('nope'), { code: 'ENOENT' }))).toBe(false);
    expect(isToolError(null)).toBe(false);
  });
});
