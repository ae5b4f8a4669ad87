/**
 * The error type of aiges-ts and its codes, as plugins see them: no protocol in sight. The loader's
 * catalog (loader/errors.ts) maps each code to one gRPC and one HTTP status.
 *
 * Errors are recognised by their `aigesCode` property, never by `instanceof`: a plugin may bundle
 * its own copy of this SDK, so its error class is not the loader's.
 */

/** Stable numeric codes: AIGes's numbers where the meaning matches, 102xx for aiges-ts's own. */
export const Codes = {
  /** An operation not valid in the current state (e.g. session frames before the open message). */
  INVALID_OP: 10003,
  /** The plugin does not support the requested mode (once or session). */
  INVALID_SESSION_MODE: 10004,
  /** The request could not be decoded: malformed protobuf, JSON or base64. */
  INVALID_DATA: 10009,
  /** A session received no input and produced no output for longer than the idle timeout. */
  SESSION_TIMEOUT: 10019,
  /** The loader is not ready (starting, or draining before shutdown). */
  INSTANCE_INACTIVE: 10101,
  /** The call's deadline passed before the plugin answered. */
  EXEC_TIMEOUT: 10102,
  /** Missing or unknown keys, wrong item types, or params that fail the schema. */
  INVALID_PARAM: 10106,
  /** A param or item value outside its declared constraints. */
  INVALID_PARAM_VALUE: 10107,
  /** The plugin crashed (a native plugin's process died, or the plugin broke its contract). */
  CRASH: 10109,
  /** Capacity (AIGes licences) is full: retry on another instance. */
  CAPACITY: 10110,
  PLUGIN_INIT: 10901,
  PLUGIN_FINI: 10902,
  PLUGIN_CREATE: 10905,
  PLUGIN_DESTROY: 10906,
  PLUGIN_WRITE: 10907,
  PLUGIN_READ: 10908,
  PLUGIN_EXEC: 10909,
  PLUGIN_CALLBACK: 10910,
  /** The request names a service this loader does not serve. */
  SERVICE_NOT_FOUND: 10200,
  /** The request or one of its items is larger than `limits.max_message_bytes`. */
  PAYLOAD_TOO_LARGE: 10201,
  /** The client cancelled the call. */
  CANCELLED: 10202,
  /** The plugin produced output its schema does not declare. */
  INVALID_OUTPUT: 10203,
  /** A fault inside the loader itself. */
  INTERNAL: 10204,
  /** The route or method does not exist. */
  NOT_FOUND: 10205,
  /** AK/SK: the request is unsigned or its signature does not hold (key, date, replay, body hash). */
  UNAUTHENTICATED: 10206,
  /** AK/SK: the access key may not call this service (or use this session). */
  PERMISSION_DENIED: 10207,
  /** AK/SK: the access key's rate limit is spent; retry later. */
  RATE_LIMITED: 10208,
  /** HTTP: the request line and headers are larger than the server reads. */
  HEADERS_TOO_LARGE: 10209,
  /** HTTP: the request did not arrive whole within `server.request_timeout_ms`. */
  REQUEST_TIMEOUT: 10210,
  /** `ctx.infer`: calls nested deeper than the limit (8), e.g. a service calling itself in a loop. */
  PIPELINE_DEPTH: 10211,
} as const;

export type AigesCode = (typeof Codes)[keyof typeof Codes];

const KNOWN = new Set<number>(Object.values(Codes));

export function isKnownCode(code: unknown): code is AigesCode {
  return typeof code === 'number' && KNOWN.has(code);
}

export class AigesError extends Error {
  readonly aigesCode: AigesCode;
  /** Extra detail safe to show to clients (e.g. the failing key). */
  readonly detail: Record<string, unknown> | undefined;
  /** The id of the request that failed, set by the loader when it answers with this error. */
  sid: string | undefined;

  constructor(code: AigesCode, message: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AigesError';
    this.aigesCode = code;
    this.detail = options?.detail;
    this.sid = undefined;
  }
}

/** True for any error carrying a known code, whichever copy of this module made it. */
export function isAigesError(err: unknown): err is AigesError {
  return typeof err === 'object' && err !== null && isKnownCode((err as { aigesCode?: unknown }).aigesCode);
}

/**
 * Makes an error a plugin throws to reject a request as the client's fault: `invalid-param`
 * (10106, e.g. a malformed input), `invalid-value` (10107, a value out of range) or `invalid-data`
 * (10009, bytes that cannot be decoded). Anything else a plugin throws is reported as a plugin
 * failure (109xx) with the error's message.
 */
export function pluginError(kind: 'invalid-param' | 'invalid-value' | 'invalid-data', message: string): AigesError {
  const code = kind === 'invalid-param' ? Codes.INVALID_PARAM : kind === 'invalid-value' ? Codes.INVALID_PARAM_VALUE : Codes.INVALID_DATA;
  return new AigesError(code, message);
}
