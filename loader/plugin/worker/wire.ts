/**
 * What the loader and the worker threads of an `isolation = "worker"` plugin say to each other,
 * and how items cross: the messages of each channel, errors as plain data, and bytes moved rather
 * than copied.
 *
 * Channels:
 * - the pool's task port (piscina): one exec per task (ExecTask → ExecResult);
 * - each thread's control port, made by the thread and handed to the loader on `parentPort` (Hello):
 *   init and fini of instance sets, aborts of execs, logs, meters, faults, session opening;
 * - one port per session, made by the loader and handed over with the session's opening: writes,
 *   results with their credit, aborts, destroy.
 *
 * Bytes: a Buffer that is the whole of its ArrayBuffer is transferred (it reads empty on the
 * sending side afterwards); a Buffer that is a slice of a larger one (Node's pooled small Buffers,
 * the items of one received message) cannot be transferred without detaching its neighbours, so it
 * is copied once into an ArrayBuffer of its own, which is transferred. SharedArrayBuffers travel
 * as they are (shared). Structured clone would otherwise copy the whole underlying ArrayBuffer of
 * every view.
 */
import type { MessagePort, Transferable } from 'node:worker_threads';
import type {
  BatchingSettings,
  DataItem,
  OutputItem,
  Params,
  ServiceCallOptions,
  ServiceRequest,
  WrapperConfig,
  WrapperSchema,
} from '../../../plugins/types.js';

/** The tag of the message a thread posts on `parentPort` with its control port. */
export const HELLO = 'aiges.worker.hello.v1';

/** The workerData of every thread. */
export interface ThreadData {
  entry: string;
  dir: string;
}

export interface Hello {
  [HELLO]: true;
  thread: number;
  control: MessagePort;
}

export function isHello(message: unknown): message is Hello {
  return typeof message === 'object' && message !== null && (message as Record<string, unknown>)[HELLO] === true;
}

/** What the plugin module declares, as a thread found it. */
export interface Description {
  id: string;
  version: string | undefined;
  description: string | undefined;
  schema: WrapperSchema;
  /** The plugin's dynamic batching settings (the loader's batcher merges requests before the threads). */
  batching: BatchingSettings | undefined;
  exec: boolean;
  session: boolean;
  init: boolean;
  fini: boolean;
}

/** An error as plain data; `code` is an aigesCode when the error carried one. */
export interface WireError {
  message: string;
  name: string;
  stack: string | undefined;
  code: number | undefined;
  detail: Record<string, unknown> | undefined;
  sid: string | undefined;
  /** True when the value thrown was not an Error (a string, a number…). */
  notError?: boolean;
  /** True for an error `ctx.infer` rejected with (loader/errors.ts `calleeError`): its code passes a rethrow. */
  callee?: boolean;
}

/** loader/errors.ts's mark of a callee's error (a registered symbol: the same in every thread). */
const CALLEE_ERROR = Symbol.for('aiges.callee-error.v1');

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** loader → thread, on the control port. */
export type ToThread =
  | { op: 'init'; set: number; config: WrapperConfig; level: number }
  | { op: 'init-abort'; set: number }
  /** Every set the loader has is initialised here: take exec tasks from now on. */
  | { op: 'start' }
  | { op: 'fini'; set: number }
  | { op: 'abort'; call: number; reason: WireError }
  /** The answer to an `infer` (ctx.infer of an exec here): the items copied, or the error. */
  | { op: 'infer-done'; id: number; items: DataItem[] | undefined; error: WireError | undefined }
  | {
      op: 'session';
      set: number;
      sid: string;
      deadline: number;
      params: Params;
      level: number;
      port: MessagePort;
    };

/** thread → loader, on the control port. */
export type FromThread =
  | { op: 'loaded'; plugin: Description }
  | { op: 'load-failed'; error: WireError }
  | { op: 'inited'; set: number }
  | { op: 'init-failed'; set: number; error: WireError }
  | { op: 'finished'; set: number; error: WireError | undefined }
  | { op: 'log'; set: number; level: LogLevel; bindings: Record<string, unknown>; obj: unknown; msg: string | undefined }
  | { op: 'meter'; set: number; key: string; count: number }
  /** ctx.infer of exec `call`: the request and options as the plugin gave them (copied, never moved). */
  | { op: 'infer'; call: number; id: number; service: string; request: ServiceRequest; options: ServiceCallOptions | undefined }
  | { op: 'fault'; kind: 'unhandled_rejection' | 'uncaught_exception'; error: WireError; sid: string | undefined };

export interface ExecTask {
  call: number;
  set: number;
  sid: string;
  deadline: number;
  level: number;
  service: string;
  params: Params;
  headers: Readonly<Record<string, string>>;
  items: DataItem[];
}

export type ExecResult = { ok: true; items: unknown } | { ok: false; error: WireError };

/** loader → thread, on a session's port. */
export type ToSession =
  | { op: 'write'; items: DataItem[] }
  | { op: 'end' }
  | { op: 'credit'; batches: number }
  | { op: 'abort'; reason: WireError }
  | { op: 'destroy' }
  /** The answer to the session's ctx.infer `id`. */
  | { op: 'inferred'; id: number; items: DataItem[] | undefined; error: WireError | undefined };

/** thread → loader, on a session's port. */
export type FromSession =
  | { op: 'created' }
  | { op: 'create-failed'; error: WireError }
  /** A write or end settled (they are one at a time, in order). */
  | { op: 'done' }
  | { op: 'failed'; error: WireError }
  | { op: 'result'; items: unknown }
  | { op: 'results-end' }
  | { op: 'results-failed'; error: WireError }
  | { op: 'destroyed'; error: WireError | undefined }
  /** The session's ctx.infer (the loader makes it under the session, copies the request). */
  | { op: 'infer'; id: number; service: string; request: ServiceRequest; options: ServiceCallOptions | undefined };

/** Result batches a thread sends before the loader has read them (the loader grants more as it reads). */
export const RESULT_WINDOW = 16;

export function toWireError(value: unknown, override?: { code: number; message: string }): WireError {
  const e = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const isError = value instanceof Error;
  const message = isError ? value.message : typeof e['message'] === 'string' ? (e['message'] as string) : String(value);
  const code = typeof e['aigesCode'] === 'number' ? (e['aigesCode'] as number) : undefined;
  const detail = typeof e['detail'] === 'object' && e['detail'] !== null ? plain(e['detail']) : undefined;
  return {
    message: override?.message ?? message,
    name: isError ? value.name : 'Error',
    stack: typeof e['stack'] === 'string' ? (e['stack'] as string) : undefined,
    code: override?.code ?? code,
    detail: detail as Record<string, unknown> | undefined,
    sid: typeof e['sid'] === 'string' ? (e['sid'] as string) : undefined,
    ...(isError || typeof value === 'object' ? {} : { notError: true }),
    ...(e[CALLEE_ERROR as never] === true ? { callee: true } : {}),
  };
}

/** The error again, with its aigesCode, detail and sid (recognised by code: plugins/errors.ts). */
export function fromWireError(wire: WireError): Error {
  const err = new Error(wire.message) as Error & { aigesCode?: number; detail?: unknown; sid?: string };
  err.name = wire.name;
  if (wire.stack !== undefined) err.stack = wire.stack;
  if (wire.code !== undefined) err.aigesCode = wire.code;
  if (wire.detail !== undefined) err.detail = wire.detail;
  if (wire.sid !== undefined) err.sid = wire.sid;
  if (wire.callee === true) Object.defineProperty(err, CALLEE_ERROR, { value: true });
  return err;
}

/** A JSON-safe copy of a value that may hold what structured clone refuses (functions, symbols). */
export function plain(value: unknown): unknown {
  try {
    return JSON.parse(
      JSON.stringify(value, (_key, v: unknown) =>
        v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : typeof v === 'bigint' ? String(v) : v,
      ) ?? 'null',
    );
  } catch (err) {
    return { unserializable: String(err) };
  }
}

/**
 * The view to send for `data`, moving its bytes: the whole ArrayBuffer goes on `transfer` (once),
 * a slice is copied once into an ArrayBuffer of its own first. `moved` maps each ArrayBuffer
 * already moved to what is sent in its place.
 *
 * NOTE: a whole ArrayBuffer is first moved into a new one (structuredClone with transfer: no copy),
 * because some cannot be detached (a WebAssembly memory's) and a postMessage that fails on one
 * would lose the whole message; those are copied instead.
 */
export function movable(data: Uint8Array, transfer: Transferable[], moved: Map<ArrayBufferLike, ArrayBuffer>): Uint8Array {
  const buffer = data.buffer;
  if (data.byteLength === 0) return new Uint8Array(0);
  if (!(buffer instanceof ArrayBuffer)) return data; // a SharedArrayBuffer is shared, not moved
  if (data.byteOffset === 0 && data.byteLength === buffer.byteLength) {
    const already = moved.get(buffer);
    if (already !== undefined) return new Uint8Array(already);
    try {
      const taken = structuredClone(buffer, { transfer: [buffer] });
      moved.set(buffer, taken);
      transfer.push(taken);
      return new Uint8Array(taken);
    } catch {
      // not detachable: copied below
    }
  }
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  transfer.push(copy.buffer);
  return copy;
}

/** Input items for the other side: the same fields, the bytes moved. */
export function itemsToWire(items: readonly DataItem[], transfer: Transferable[]): DataItem[] {
  const moved = new Map<ArrayBufferLike, ArrayBuffer>();
  const out: DataItem[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as DataItem;
    const wire: DataItem = {
      key: item.key,
      type: item.type,
      status: item.status,
      encoding: item.encoding,
      attributes: item.attributes,
      data: movable(item.data, transfer, moved) as Buffer,
    };
    if (item.tensor !== undefined) wire.tensor = item.tensor;
    out[i] = wire;
  }
  return out;
}

/**
 * A plugin's output for the other side, fields as the plugin gave them (the loader checks them
 * against the schema), Buffers and Uint8Arrays moved. Not an array: a primitive as it is, an
 * object as null, for the loader's check to refuse; data of another type likewise as null.
 */
export function outputsToWire(output: unknown, transfer: Transferable[]): unknown {
  if (!Array.isArray(output)) return typeof output === 'object' ? null : output;
  const moved = new Map<ArrayBufferLike, ArrayBuffer>();
  return output.map((raw: unknown) => {
    if (typeof raw !== 'object' || raw === null) return typeof raw === 'function' || typeof raw === 'symbol' ? null : raw;
    const o = raw as OutputItem;
    const data = o.data instanceof Uint8Array ? movable(o.data, transfer, moved) : typeof o.data === 'string' ? o.data : null;
    // Only fields of the types the contract allows: the answer must clone (a thread's answer
    // that fails to post is lost with its call).
    const wire: Record<string, unknown> = { key: typeof o.key === 'string' ? o.key : null, data };
    if (typeof o.type === 'number') wire['type'] = o.type;
    if (typeof o.status === 'number') wire['status'] = o.status;
    if (typeof o.encoding === 'string') wire['encoding'] = o.encoding;
    if (typeof o.attributes === 'object' && o.attributes !== null) {
      const attributes: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.attributes)) attributes[k] = String(v);
      wire['attributes'] = attributes;
    }
    if (typeof o.tensor === 'object' && o.tensor !== null) wire['tensor'] = plain(o.tensor);
    return wire;
  });
}

/** Items as they arrive: each `data` a Buffer again, over the moved bytes (no copy). In place. */
export function itemsFromWire<T extends { data: unknown }>(items: unknown): T[] {
  if (!Array.isArray(items)) return items as T[];
  for (const item of items as { data: unknown }[]) {
    if (typeof item !== 'object' || item === null) continue;
    const data = item.data;
    if (data instanceof Uint8Array && !Buffer.isBuffer(data)) item.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  return items as T[];
}
