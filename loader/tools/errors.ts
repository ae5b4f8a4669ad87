/**
 * The one error type of the developer tools (`aiges xtest`, `check`, `new`, `image`, `call`): the
 * tool itself could not do what was asked — a bad flag, an unreadable input, a build that failed —
 * as opposed to the errors of the calls a tool makes, which carry the loader's numeric aiges-code.
 *
 * Each tool keeps its own catalog of stable string codes (its `errors.ts`, documented with the
 * tool); scripts and tests match on the code, never on the prose. The CLI prints the code in the
 * tool's documented format and exits with `exitCode`.
 */

/** The exit code of a tool that could not run as asked (bad input); the default. */
export const USAGE_EXIT_CODE = 2;

export interface ToolErrorOptions {
  /** The process exit code the CLI ends with (default USAGE_EXIT_CODE). */
  exitCode?: number;
  cause?: unknown;
}

export class ToolError<Code extends string = string> extends Error {
  override readonly name = 'ToolError';
  readonly exitCode: number;

  constructor(
    readonly code: Code,
    message: string,
    options: ToolErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? USAGE_EXIT_CODE;
  }
}

/**
 * True for a ToolError, recognised by its fields (a string code and an integer exit code), not by
 * class; with `codes`, only for one of that catalog's codes.
 */
export function isToolError(err: unknown, codes?: Readonly<Record<string, string>>): err is ToolError {
  const e = err as { code?: unknown; exitCode?: unknown } | null;
  if (typeof e?.code !== 'string' || !Number.isInteger(e.exitCode)) return false;
  return codes === undefined || Object.values(codes).includes(e.code);
}
