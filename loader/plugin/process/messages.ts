/**
 * The messages between the loader and a plugin process (frames.ts carries them), and how items and
 * errors cross. Requests carry an `id` the answer repeats (`ok` / `err`); a session is named by the
 * id of the `open` that made it (`s`). Id 0 is the `load` that every plugin process starts with.
 *
 * Loader → plugin process: load, init, exec, open (session.create), write, end, destroy (session),
 * credit (session results the loader has room for), cancel (the call's or session's ctx.signal
 * fires), release (output blocks the loader is done with), level (log level), fini, inferred (the
 * answer to an `infer`, by its own id).
 * Plugin process → loader: loaded, ok, err, res (a session result batch), rend (the results
 * ended, or failed), meter (ctx.meter), infer (a ctx.infer of call or session `call`, made by the
 * loader under it: its bytes inline, copied once each way).
 *
 * Outputs are checked against the schema before they are sent (the plugin process has the same
 * checks as the loader); an output that fails is sent as `invalid` with the check's error instead,
 * so that the loader's own check fails the same way (see remote.ts) and the call ends as it would
 * for a plugin in the loader's process.
 */
import { AigesError, Codes, isAigesError } from '../../../plugins/errors.js';
import { calleeError, isCalleeError } from '../../errors.js';
import type {
  BatchingSettings,
  DataItem,
  OutputItem,
  ServiceCallOptions,
  ServiceRequest,
  TensorInfo,
  TensorInput,
  WrapperConfig,
  WrapperSchema,
} from '../../../plugins/types.js';
import type { KindSettings } from '../kinds.js';
import type { PluginLocation } from '../repository.js';
import { type Arena, SHARED_MIN_BYTES } from './shared-region.js';

/**
 * Session result batches a plugin process may send that the loader has not read yet; the loader
 * gives credit back (`credit`) as the session reads them. A slow client thus holds the plugin
 * back through its own queue, and neither side buffers more than this many batches.
 */
export const RESULT_WINDOW = 8;

/** An item on the wire: its fields, and where its bytes are (inline at `off` in the frame's payload, or in the shared region). */
export interface WireItem {
  key: string;
  type?: number;
  status?: number;
  encoding?: string;
  attributes?: Record<string, string>;
  tensor?: TensorInfo;
  off: number;
  len: number;
  /** 1: the bytes are in the shared region at `off`. */
  shared?: 1;
}

/** A ctx.infer tensor input on the wire: its fields, its bytes inline at `off` in the frame's payload. */
export interface WireTensor {
  name: string;
  datatype: string;
  shape: number[];
  attributes?: Record<string, string>;
  off: number;
  len: number;
}

export interface WireError {
  /** The AIGes code when the error carried one. */
  code?: number;
  message: string;
  detail?: Record<string, unknown>;
  /** 1: an error `ctx.infer` rejected with (loader/errors.ts `calleeError`): its code passes a rethrow. */
  callee?: 1;
}

/** What a plugin process says about the plugin it loaded: the wrapper the loader serves. */
export interface PluginDescription {
  id: string;
  version?: string | undefined;
  description?: string | undefined;
  schema: WrapperSchema;
  /** The plugin's dynamic batching settings (the loader's batcher merges requests before the process). */
  batching?: BatchingSettings | undefined;
  exec: boolean;
  session: boolean;
}

export type ToChild =
  | { t: 'load'; location: PluginLocation; settings: KindSettings; level: string; region: boolean; spinUs: number }
  | { t: 'init'; id: number; config: WrapperConfig }
  | {
      t: 'exec';
      id: number;
      sid: string;
      deadline: number;
      service: string;
      params: Readonly<Record<string, unknown>>;
      headers: Readonly<Record<string, string>>;
      items: WireItem[];
      /** µs the loader was idle between the previous once call's answer and this call, when nothing else was in flight. */
      gap?: number;
    }
  | { t: 'cancel'; id: number; code: number; message: string }
  | { t: 'open'; id: number; sid: string; deadline: number; params: Readonly<Record<string, unknown>> }
  | { t: 'write'; id: number; s: number; items: WireItem[] }
  | { t: 'end'; id: number; s: number }
  | { t: 'destroy'; id: number; s: number }
  | { t: 'credit'; s: number; n: number }
  | { t: 'release'; at: number[] }
  | { t: 'level'; level: string }
  | { t: 'fini'; id: number }
  | { t: 'inferred'; id: number; items?: WireItem[]; err?: WireError };

export type ToParent =
  | { t: 'loaded'; plugin: PluginDescription }
  | { t: 'ok'; id: number; items?: WireItem[]; invalid?: WireError; work?: number }
  | { t: 'err'; id: number; err: WireError; work?: number }
  | { t: 'res'; s: number; items: WireItem[]; invalid?: WireError }
  | { t: 'rend'; s: number; err?: WireError }
  | { t: 'meter'; key: string; count: number }
  | {
      t: 'infer';
      id: number;
      call: number;
      service: string;
      params: Readonly<Record<string, unknown>>;
      headers: Readonly<Record<string, string>>;
      items: WireItem[];
      inputs: WireTensor[];
      options: ServiceCallOptions;
    };

/** The bytes of a message's inline items, in order. */
export class Payloads {
  readonly list: Uint8Array[] = [];
  #bytes = 0;

  /** Appends `data`; returns its offset in the payload. */
  add(data: Uint8Array): number {
    const at = this.#bytes;
    this.list.push(data);
    this.#bytes += data.byteLength;
    return at;
  }
}

/** Where a sender puts large item bytes: its arena in the region, and a view of the whole region. */
export interface SharedOut {
  arena: Pick<Arena, 'alloc' | 'free'>;
  bytes: Uint8Array;
  /**
   * The plugin process's side: the arena block an output already is (the native host wrote it
   * there), or -1. Such bytes are sent as they lie, and kept in `held` until the loader releases
   * them.
   */
  offsetOf?: (data: Uint8Array) => number;
  held?: Map<number, Uint8Array>;
}

function bytesOf(data: Buffer | Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * Items as they go on the wire. Bytes of `SHARED_MIN_BYTES` or more are copied into the sender's
 * arena (followed by a zero byte) when it has room, and the block's offset is pushed to `blocks`;
 * the rest go into `payloads`.
 */
export function encodeItems(
  items: readonly (DataItem | OutputItem)[],
  shared: SharedOut | undefined,
  payloads: Payloads,
  blocks: number[],
): WireItem[] {
  const wire: WireItem[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const data = bytesOf(item.data);
    const len = data.byteLength;
    const out: WireItem = {
      key: item.key,
      type: item.type,
      status: item.status,
      encoding: item.encoding,
      attributes: item.attributes,
      tensor: item.tensor,
      off: 0,
      len,
    };
    const lies = shared?.offsetOf?.(data) ?? -1;
    if (lies >= 0) {
      shared!.held!.set(lies, data);
      out.off = lies;
      out.shared = 1;
      wire[i] = out;
      continue;
    }
    const at = shared !== undefined && len >= SHARED_MIN_BYTES ? shared.arena.alloc(len + 1) : -1;
    if (at >= 0) {
      shared!.bytes.set(data, at);
      shared!.bytes[at + len] = 0;
      blocks.push(at);
      out.off = at;
      out.shared = 1;
    } else out.off = payloads.add(data);
    wire[i] = out;
  }
  return wire;
}

/** An item's bytes: a view of the frame's payload or of the region (no copy). */
export function itemBytes(item: WireItem, payload: Buffer, region: ArrayBuffer | undefined): Buffer {
  if (item.shared === 1) {
    if (region === undefined) throw new Error('a shared item without a shared region');
    return Buffer.from(region, item.off, item.len);
  }
  return payload.subarray(item.off, item.off + item.len);
}

/** An item as a plugin made it: only the fields it set (a missing `type` stays the receiver's to choose). */
export function wireOutputItem(w: WireItem, data: Buffer): OutputItem {
  const item: OutputItem = { key: w.key, data };
  if (w.type !== undefined) item.type = w.type as OutputItem['type'];
  if (w.status !== undefined) item.status = w.status as OutputItem['status'];
  if (w.encoding !== undefined) item.encoding = w.encoding;
  if (w.attributes !== undefined) item.attributes = w.attributes;
  if (w.tensor !== undefined) item.tensor = w.tensor;
  return item;
}

/** Input items as a plugin sees them (every field present). */
export function decodeInputs(items: readonly WireItem[], payload: Buffer, region: ArrayBuffer | undefined): DataItem[] {
  return items.map((w) => {
    const item: DataItem = {
      key: w.key,
      type: w.type as DataItem['type'],
      status: w.status as DataItem['status'],
      encoding: w.encoding ?? '',
      attributes: w.attributes ?? {},
      data: itemBytes(w, payload, region),
    };
    if (w.tensor !== undefined) item.tensor = w.tensor;
    return item;
  });
}

/** An error as it crosses: its AIGes code (if any), message and detail. */
export function encodeError(err: unknown): WireError {
  const message = err instanceof Error ? err.message : String(err);
  if (!isAigesError(err)) return { message };
  const wire: WireError = { code: err.aigesCode, message };
  if (err.detail !== undefined) wire.detail = err.detail;
  if (isCalleeError(err)) wire.callee = 1;
  return wire;
}

/** The error back: an AigesError when it carried a code, else a plain Error (the loader wraps it as a plugin failure). */
export function decodeError(wire: WireError): Error {
  if (wire.code === undefined) return new Error(wire.message);
  const err = new AigesError(
    wire.code as AigesError['aigesCode'],
    wire.message,
    wire.detail === undefined ? undefined : { detail: wire.detail },
  );
  return wire.callee === 1 ? calleeError(err) : err;
}

/** A ctx.infer request as it goes on the wire: items and tensor inputs, every byte inline in `payloads`. */
export function encodeServiceRequest(
  request: ServiceRequest,
  payloads: Payloads,
): { items: WireItem[]; inputs: WireTensor[]; params: Readonly<Record<string, unknown>>; headers: Readonly<Record<string, string>> } {
  const items = encodeItems(request.items ?? [], undefined, payloads, []);
  const inputs = (request.inputs ?? []).map((t): WireTensor => {
    const data = ArrayBuffer.isView(t.data) ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : undefined;
    if (data === undefined)
      throw new AigesError(Codes.INVALID_PARAM, `ctx.infer: input ${JSON.stringify(t.name)} data must be a typed array or bytes`);
    const wire: WireTensor = { name: t.name, datatype: t.datatype, shape: [...t.shape], off: payloads.add(data), len: data.byteLength };
    if (t.attributes !== undefined) wire.attributes = t.attributes;
    return wire;
  });
  return { items, inputs, params: request.params ?? {}, headers: request.headers ?? {} };
}

/**
 * The request back, its bytes views of the payload: items keep the fields the plugin left out (a
 * missing `type` is still the callee's to choose), tensors their typed data as bytes.
 */
export function decodeServiceRequest(message: Extract<ToParent, { t: 'infer' }>, payload: Buffer): ServiceRequest {
  const items = message.items.map((w) => wireOutputItem(w, itemBytes(w, payload, undefined)));
  const inputs = message.inputs.map(
    (w): TensorInput => ({
      name: w.name,
      datatype: w.datatype as TensorInput['datatype'],
      shape: w.shape,
      data: payload.subarray(w.off, w.off + w.len),
      ...(w.attributes === undefined ? {} : { attributes: w.attributes }),
    }),
  );
  return { items, inputs, params: message.params as ServiceRequest['params'], headers: message.headers };
}
