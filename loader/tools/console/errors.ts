/**
 * The codes of `aiges console`'s API errors (docs/console.md lists them): every refusal leaves as
 * `{ code, message }` with the HTTP status given here, so that pages, scripts and tests match on the
 * code, never on the prose. Startup failures of the command are ToolErrors with the same catalog.
 */
import { ToolError } from '../errors.js';

export const ConsoleCodes = {
  /** No session (or an expired one) and no `Authorization: Bearer` token: log in first. 401. */
  LOGIN_REQUIRED: 'CONSOLE_LOGIN_REQUIRED',
  /** The token given at login matches no operator or viewer token. 401. */
  BAD_LOGIN: 'CONSOLE_BAD_LOGIN',
  /** A change (push, rollback, key create/revoke) by a read-only user. 403. */
  READ_ONLY: 'CONSOLE_READ_ONLY',
  /** A change that is not a same-origin JSON request (CSRF guard). 403. */
  CROSS_SITE: 'CONSOLE_CROSS_SITE',
  /** A pushed config that `aiges config push` would refuse too; `line` says where, when known. 400. */
  INVALID_CONFIG: 'CONSOLE_INVALID_CONFIG',
  /** A malformed request: a bad service name, version, field. 400. */
  BAD_REQUEST: 'CONSOLE_BAD_REQUEST',
  /** No such version, key or route. 404. */
  NOT_FOUND: 'CONSOLE_NOT_FOUND',
  /** Polaris (etcd) refused or could not be reached. 502. */
  POLARIS: 'CONSOLE_POLARIS',
  /** A fault of the console itself (a bug), not of the request. 500. */
  INTERNAL: 'CONSOLE_INTERNAL',
  /** A bad flag or token file at startup (exit 2). */
  BAD_ARGUMENT: 'CONSOLE_BAD_ARGUMENT',
} as const;

export type ConsoleCode = (typeof ConsoleCodes)[keyof typeof ConsoleCodes];

/** The HTTP status of each code. */
export const CONSOLE_STATUS: Readonly<Record<ConsoleCode, number>> = {
  CONSOLE_LOGIN_REQUIRED: 401,
  CONSOLE_BAD_LOGIN: 401,
  CONSOLE_READ_ONLY: 403,
  CONSOLE_CROSS_SITE: 403,
  CONSOLE_INVALID_CONFIG: 400,
  CONSOLE_BAD_REQUEST: 400,
  CONSOLE_NOT_FOUND: 404,
  CONSOLE_POLARIS: 502,
  CONSOLE_INTERNAL: 500,
  CONSOLE_BAD_ARGUMENT: 400,
};

export const consoleError = (code: ConsoleCode, message: string, cause?: unknown) =>
  new ToolError(code, message, cause === undefined ? {} : { cause });
