/**
 * The error catalog: every error the loader returns has a stable numeric code (AIGes numbers
 * where the meaning matches, 102xx for aiges-ts's own), a message, and exactly one mapping to a
 * gRPC status and one to an HTTP status. Adapters never invent codes; they look them up here.
 *
 * Errors are recognised by their `aigesCode` property, never by `instanceof`: a plugin may bundle
 * its own copy of the SDK, so its error class is not ours.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

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
} as const;

export type AigesCode = (typeof Codes)[keyof typeof Codes];

interface CodeSpec {
  name: keyof typeof Codes;
  grpc: GrpcStatus;
  http: number;
  /** Whether a balancer may retry the call on another instance. */
  retryable: boolean;
}

const spec = (name: keyof typeof Codes, grpc: GrpcStatus, http: number, retryable = false): CodeSpec => ({
  name,
  grpc,
  http,
  retryable,
});

const CATALOG: ReadonlyMap<number, CodeSpec> = new Map<number, CodeSpec>([
  [Codes.INVALID_OP, spec('INVALID_OP', GrpcStatus.FAILED_PRECONDITION, 400)],
  [Codes.INVALID_SESSION_MODE, spec('INVALID_SESSION_MODE', GrpcStatus.UNIMPLEMENTED, 501)],
  [Codes.INVALID_DATA, spec('INVALID_DATA', GrpcStatus.INVALID_ARGUMENT, 400)],
  [Codes.SESSION_TIMEOUT, spec('SESSION_TIMEOUT', GrpcStatus.DEADLINE_EXCEEDED, 408)],
  [Codes.INSTANCE_INACTIVE, spec('INSTANCE_INACTIVE', GrpcStatus.UNAVAILABLE, 503, true)],
  [Codes.EXEC_TIMEOUT, spec('EXEC_TIMEOUT', GrpcStatus.DEADLINE_EXCEEDED, 504)],
  [Codes.INVALID_PARAM, spec('INVALID_PARAM', GrpcStatus.INVALID_ARGUMENT, 400)],
  [Codes.INVALID_PARAM_VALUE, spec('INVALID_PARAM_VALUE', GrpcStatus.INVALID_ARGUMENT, 400)],
  [Codes.CRASH, spec('CRASH', GrpcStatus.INTERNAL, 500)],
  [Codes.CAPACITY, spec('CAPACITY', GrpcStatus.RESOURCE_EXHAUSTED, 429, true)],
  [Codes.PLUGIN_INIT, spec('PLUGIN_INIT', GrpcStatus.INTERNAL, 500)],
  [Codes.PLUGIN_FINI, spec('PLUGIN_FINI', GrpcStatus.INTERNAL, 500)],
  [Codes.PLUGIN_CREATE, spec('PLUGIN_CREATE', GrpcStatus.INTERNAL, 500)],
  [Codes.PLUGIN_DESTROY, spec('PLUGIN_DESTROY', GrpcStatus.INTERNAL, 500)],
  [Codes.PLUGIN_WRITE, spec('PLUGIN_WRITE', GrpcStatus.INTERNAL, 500)],
  [Codes.PLUGIN_READ, spec('PLUGIN_READ', GrpcStatus.INTERNAL, 500)],
  [Codes.PLUGIN_EXEC, spec('PLUGIN_EXEC', GrpcStatus.INTERNAL, 500)],
  [Codes.PLUGIN_CALLBACK, spec('PLUGIN_CALLBACK', GrpcStatus.INTERNAL, 500)],
  [Codes.SERVICE_NOT_FOUND, spec('SERVICE_NOT_FOUND', GrpcStatus.NOT_FOUND, 404)],
  [Codes.PAYLOAD_TOO_LARGE, spec('PAYLOAD_TOO_LARGE', GrpcStatus.RESOURCE_EXHAUSTED, 413)],
  [Codes.CANCELLED, spec('CANCELLED', GrpcStatus.CANCELLED, 499)],
  [Codes.INVALID_OUTPUT, spec('INVALID_OUTPUT', GrpcStatus.INTERNAL, 500)],
  [Codes.INTERNAL, spec('INTERNAL', GrpcStatus.INTERNAL, 500)],
  [Codes.NOT_FOUND, spec('NOT_FOUND', GrpcStatus.NOT_FOUND, 404)],
]);

/**
 * Codes that pass through the plugin boundary unchanged: the client-fault codes a plugin may use
 * to reject a request, and the plugin-failure codes a plugin kind (e.g. the native host) already
 * chose more precisely than the boundary could (10910 for a failed native callback).
 */
const PLUGIN_PASSTHROUGH = new Set<number>([
  Codes.INVALID_PARAM,
  Codes.INVALID_PARAM_VALUE,
  Codes.INVALID_DATA,
  Codes.CRASH,
  Codes.PLUGIN_INIT,
  Codes.PLUGIN_FINI,
  Codes.PLUGIN_CREATE,
  Codes.PLUGIN_DESTROY,
  Codes.PLUGIN_WRITE,
  Codes.PLUGIN_READ,
  Codes.PLUGIN_EXEC,
  Codes.PLUGIN_CALLBACK,
]);

export class AigesError extends Error {
  readonly aigesCode: AigesCode;
  /** Extra detail safe to show to clients (e.g. the failing key). */
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: AigesCode, message: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AigesError';
    this.aigesCode = code;
    this.detail = options?.detail;
  }

  get codeName(): string {
    return specOf(this.aigesCode).name;
  }

  get grpcStatus(): GrpcStatus {
    return specOf(this.aigesCode).grpc;
  }

  get httpStatus(): number {
    return specOf(this.aigesCode).http;
  }

  get retryable(): boolean {
    return specOf(this.aigesCode).retryable;
  }
}

function specOf(code: number): CodeSpec {
  return CATALOG.get(code) ?? (CATALOG.get(Codes.INTERNAL) as CodeSpec);
}

export function isKnownCode(code: unknown): code is AigesCode {
  return typeof code === 'number' && CATALOG.has(code);
}

/** True for any error carrying a catalog code, whichever copy of this module made it. */
export function isAigesError(err: unknown): err is AigesError {
  return typeof err === 'object' && err !== null && isKnownCode((err as { aigesCode?: unknown }).aigesCode);
}

/** Converts whatever reached the loader's boundary into an AigesError (internal faults become 10204). */
export function toAigesError(err: unknown): AigesError {
  if (err instanceof AigesError) return err;
  if (isAigesError(err)) {
    const e = err as { aigesCode: AigesCode; message?: unknown; detail?: Record<string, unknown> };
    return new AigesError(e.aigesCode, String(e.message ?? ''), { cause: err, detail: e.detail });
  }
  return new AigesError(Codes.INTERNAL, 'internal error', { cause: err });
}

/**
 * Wraps an error thrown by a plugin at the loader's boundary. The plugin's own message is kept;
 * a plugin may reject input with one of the client-fault codes, anything else becomes `code`.
 */
export function wrapPluginError(err: unknown, code: AigesCode, what: string): AigesError {
  const aigesCode = (err as { aigesCode?: unknown } | null)?.aigesCode;
  if (isAigesError(err) && PLUGIN_PASSTHROUGH.has(aigesCode as number)) return toAigesError(err);
  const message = err instanceof Error ? err.message : String(err);
  return new AigesError(code, `${what}: ${message}`, { cause: err });
}
