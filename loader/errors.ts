/**
 * The error catalog: every error the loader returns has a stable numeric code (plugins/errors.ts),
 * a message, and exactly one mapping to a gRPC status and one to an HTTP status, kept here.
 * Adapters never invent codes or statuses; they look them up here.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { AigesError, type AigesCode, Codes, isAigesError } from '../plugins/errors.js';

export { AigesError, type AigesCode, Codes, isAigesError };

interface CodeSpec {
  name: keyof typeof Codes;
  grpc: GrpcStatus;
  http: number;
  /** Whether a balancer may retry the call on another instance. */
  retryable: boolean;
  /** Whether it says the plugin or the loader failed (worth an error log), not the client or the clock. */
  fault: boolean;
}

const spec = (name: keyof typeof Codes, grpc: GrpcStatus, http: number, kind: 'retryable' | 'fault' | '' = ''): CodeSpec => ({
  name,
  grpc,
  http,
  retryable: kind === 'retryable',
  fault: kind === 'fault',
});

const CATALOG: ReadonlyMap<number, CodeSpec> = new Map<number, CodeSpec>([
  [Codes.INVALID_OP, spec('INVALID_OP', GrpcStatus.FAILED_PRECONDITION, 400)],
  [Codes.INVALID_SESSION_MODE, spec('INVALID_SESSION_MODE', GrpcStatus.UNIMPLEMENTED, 501)],
  [Codes.INVALID_DATA, spec('INVALID_DATA', GrpcStatus.INVALID_ARGUMENT, 400)],
  [Codes.SESSION_TIMEOUT, spec('SESSION_TIMEOUT', GrpcStatus.DEADLINE_EXCEEDED, 408)],
  [Codes.INSTANCE_INACTIVE, spec('INSTANCE_INACTIVE', GrpcStatus.UNAVAILABLE, 503, 'retryable')],
  [Codes.EXEC_TIMEOUT, spec('EXEC_TIMEOUT', GrpcStatus.DEADLINE_EXCEEDED, 504)],
  [Codes.INVALID_PARAM, spec('INVALID_PARAM', GrpcStatus.INVALID_ARGUMENT, 400)],
  [Codes.INVALID_PARAM_VALUE, spec('INVALID_PARAM_VALUE', GrpcStatus.INVALID_ARGUMENT, 400)],
  [Codes.CRASH, spec('CRASH', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.CAPACITY, spec('CAPACITY', GrpcStatus.RESOURCE_EXHAUSTED, 429, 'retryable')],
  [Codes.PLUGIN_INIT, spec('PLUGIN_INIT', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.PLUGIN_FINI, spec('PLUGIN_FINI', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.PLUGIN_CREATE, spec('PLUGIN_CREATE', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.PLUGIN_DESTROY, spec('PLUGIN_DESTROY', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.PLUGIN_WRITE, spec('PLUGIN_WRITE', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.PLUGIN_READ, spec('PLUGIN_READ', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.PLUGIN_EXEC, spec('PLUGIN_EXEC', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.PLUGIN_CALLBACK, spec('PLUGIN_CALLBACK', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.SERVICE_NOT_FOUND, spec('SERVICE_NOT_FOUND', GrpcStatus.NOT_FOUND, 404)],
  [Codes.PAYLOAD_TOO_LARGE, spec('PAYLOAD_TOO_LARGE', GrpcStatus.RESOURCE_EXHAUSTED, 413)],
  [Codes.CANCELLED, spec('CANCELLED', GrpcStatus.CANCELLED, 499)],
  [Codes.INVALID_OUTPUT, spec('INVALID_OUTPUT', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.INTERNAL, spec('INTERNAL', GrpcStatus.INTERNAL, 500, 'fault')],
  [Codes.NOT_FOUND, spec('NOT_FOUND', GrpcStatus.NOT_FOUND, 404)],
  [Codes.UNAUTHENTICATED, spec('UNAUTHENTICATED', GrpcStatus.UNAUTHENTICATED, 401)],
  [Codes.PERMISSION_DENIED, spec('PERMISSION_DENIED', GrpcStatus.PERMISSION_DENIED, 403)],
  // NOTE: not retryable elsewhere: the limit is the key's, and another instance would only spend it there.
  [Codes.RATE_LIMITED, spec('RATE_LIMITED', GrpcStatus.RESOURCE_EXHAUSTED, 429)],
  [Codes.HEADERS_TOO_LARGE, spec('HEADERS_TOO_LARGE', GrpcStatus.INVALID_ARGUMENT, 431)],
  [Codes.REQUEST_TIMEOUT, spec('REQUEST_TIMEOUT', GrpcStatus.DEADLINE_EXCEEDED, 408)],
  [Codes.PIPELINE_DEPTH, spec('PIPELINE_DEPTH', GrpcStatus.FAILED_PRECONDITION, 508)],
]);

function specOf(code: number): CodeSpec {
  return CATALOG.get(code) ?? (CATALOG.get(Codes.INTERNAL) as CodeSpec);
}

/** The code's name in the catalog ("CAPACITY"); an unknown code is INTERNAL. */
/** Longest client-supplied name a message repeats whole. */
const NAME_CHARS = 80;

/**
 * A name the client sent (service, sid, key, param), as a message quotes it: JSON-quoted (control
 * characters escaped) and cut after NAME_CHARS characters, so an error never echoes a long input.
 */
export function named(value: string): string {
  return JSON.stringify(value.length > NAME_CHARS ? `${value.slice(0, NAME_CHARS)}…` : value);
}

export function codeName(code: number): string {
  return specOf(code).name;
}

/** The one gRPC status of a code. */
export function grpcStatusOf(code: number): GrpcStatus {
  return specOf(code).grpc;
}

/** The one HTTP status of a code. */
export function httpStatusOf(code: number): number {
  return specOf(code).http;
}

/** Whether a balancer may retry a call that failed with this code on another instance. */
export function isRetryable(code: number): boolean {
  return specOf(code).retryable;
}

/** Whether the code says the plugin or the loader failed, not the client or the clock (such calls are logged). */
export function isFault(code: number): boolean {
  return specOf(code).fault;
}

/**
 * Codes that pass through the plugin boundary unchanged: the client-fault codes a plugin may use
 * to reject a request, the plugin-failure codes a plugin kind (e.g. the native host) already
 * chose more precisely than the boundary could (10910 for a failed native callback), and 10101
 * from an isolation whose plugin process is down (retryable: a balancer tries another instance).
 */
const PLUGIN_PASSTHROUGH = new Set<number>([
  Codes.INSTANCE_INACTIVE,
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

/**
 * Marks the errors `ctx.infer` rejects with: a plugin that rethrows one passes the callee's code on
 * to its own client (a 10110 stays retryable, a 10106 stays the client's fault), where any other
 * AigesError a plugin throws becomes a plugin failure unless its code passes through anyway.
 */
const CALLEE_ERROR: unique symbol = Symbol.for('aiges.callee-error.v1') as never;

/** Marks `error` as a callee's answer to `ctx.infer` (see CALLEE_ERROR); returns it. */
export function calleeError(error: AigesError): AigesError {
  Object.defineProperty(error, CALLEE_ERROR, { value: true });
  return error;
}

/** Whether `err` came from `ctx.infer` (see CALLEE_ERROR). */
export function isCalleeError(err: object): boolean {
  return (err as { [CALLEE_ERROR]?: unknown })[CALLEE_ERROR] === true;
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
  if (isAigesError(err) && (PLUGIN_PASSTHROUGH.has(aigesCode as number) || isCalleeError(err))) return toAigesError(err);
  const message = err instanceof Error ? err.message : String(err);
  return new AigesError(code, `${what}: ${message}`, { cause: err });
}
