/**
 * Pipelines: a plugin calling another service with `ctx.infer` (docs/plugins.md, "Calling other
 * services").
 *
 * A service of this loader is called through the data plane's own `infer`, as a call nested under
 * the caller's call (call.ts `parent`): the callee's validation, exec slots, deadline, metrics and
 * logs apply as to a client's call, with no network and no copy of the bytes (the caller's
 * Buffers and typed arrays become the callee's item data as they are). What differs:
 * - no admission slot: the client's call that started the pipeline holds one for all of it, so a
 *   full loader never refuses the inner steps of a call it has admitted (nor does a drain);
 * - the deadline is the caller's, or earlier (`timeoutMs`); when the caller's call ends (deadline,
 *   cancel, drain, answered) the inner call ends with the same code and its `ctx.signal` fires;
 * - nesting is bounded (MAX_PIPELINE_DEPTH, 10211), and a call never waits for an exec slot that
 *   a call up its own chain holds (10110 at once, once-call.ts): A calling A cannot deadlock;
 * - no AK/SK check: the client may call the first service; what it calls is the plugin's choice.
 * Another loader's service (`address`, `via: 'polaris'`) goes over aiges.v1 gRPC (RemoteServices),
 * the nesting depth with it (header PIPELINE_DEPTH_HEADER), so a loop across loaders stops too.
 */
import { AigesError, Codes, calleeError, isCalleeError, named, toAigesError } from '../errors.js';
import { ServiceAnswer } from '../../plugins/service-answer.js';
import { isTensorDatatype } from '../../plugins/tensor.js';
import {
  DataStatus,
  DataType,
  type DataItem,
  type OutputItem,
  type RawRequest,
  type ServiceCallOptions,
  type ServiceRequest,
  type ServiceResponse,
} from '../../plugins/types.js';
import type { Call } from './call.js';

/** How deep `ctx.infer` calls may nest (a client's call is depth 0). */
export const MAX_PIPELINE_DEPTH = 8;

/** The request header that carries a call's nesting depth to another loader. */
export const PIPELINE_DEPTH_HEADER = 'aiges-pipeline-depth';

/** The depth a client's call starts at: another loader's nested call says it, anything else is 0. */
export function pipelineDepth(headers: Readonly<Record<string, string>>): number {
  const text = headers[PIPELINE_DEPTH_HEADER];
  if (text === undefined) return 0;
  const depth = Number(text);
  return Number.isInteger(depth) && depth > 0 ? Math.min(depth, MAX_PIPELINE_DEPTH + 1) : 0;
}

/** The input item type a service declares for `key` (undefined: not declared, or no such service). */
export type InputTypeOf = (service: string, key: string) => DataType | undefined;

/** A call to another loader's service (loader/pipes/remote.ts). */
export interface RemoteServices {
  /** Resolves with the callee's output items, or rejects with an AigesError carrying its code. */
  infer(
    service: string,
    request: ServiceRequest,
    route: Pick<ServiceCallOptions, 'address' | 'via' | 'protocol'>,
    call: { deadline: number; signal: AbortSignal; depth: number },
  ): Promise<DataItem[]>;
}

/** What pipes call in-process: the data plane. */
export interface PipePlane {
  infer(raw: RawRequest, options: { deadline: number; parent: Call }): Promise<DataItem[]>;
  readonly inputType: InputTypeOf;
}

export class Pipes {
  /** Set by whoever can reach other loaders (loader/plane.ts); absent: remote calls are refused. */
  remote: RemoteServices | undefined;

  constructor(private readonly plane: PipePlane) {}

  /** `ctx.infer` of `parent`'s plugin. Rejects (never throws) with a callee error (errors.ts `calleeError`). */
  infer(parent: Call, service: string, request: ServiceRequest, options: ServiceCallOptions = {}): Promise<ServiceResponse> {
    let deadline = parent.deadline;
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined) {
      if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
        const error = new AigesError(Codes.INVALID_OP, `ctx.infer: timeoutMs must be a number ≥ 0, got ${named(String(timeoutMs))}`);
        return Promise.reject(calleeError(error));
      }
      deadline = Math.min(deadline, Date.now() + timeoutMs);
    }
    if (options.address !== undefined || options.via !== undefined) return this.#remote(parent, service, request, options, deadline);
    let raw: RawRequest;
    try {
      raw = {
        service,
        params: paramStrings(request.params),
        headers: { ...request.headers },
        items: requestItems(request, (key) => this.plane.inputType(service, key)),
      };
    } catch (err) {
      return Promise.reject(fromCallee(err, service));
    }
    return this.plane.infer(raw, { deadline, parent }).then(
      (items) => new ServiceAnswer(items),
      (err: unknown) => Promise.reject(fromCallee(err, service)),
    );
  }

  #remote(parent: Call, service: string, request: ServiceRequest, options: ServiceCallOptions, deadline: number): Promise<ServiceResponse> {
    if (this.remote === undefined) {
      return Promise.reject(calleeError(new AigesError(Codes.INVALID_OP, 'ctx.infer: calls to other loaders are not available here')));
    }
    const route = { address: options.address, via: options.via, protocol: options.protocol };
    return this.remote.infer(service, request, route, { deadline, signal: parent.signal, depth: parent.depth + 1 }).then(
      (items) => new ServiceAnswer(items),
      (err: unknown) => Promise.reject(fromCallee(err, service)),
    );
  }
}

/**
 * The callee's error as the caller's plugin gets it: the callee's code, its service and sid in
 * `detail`. An error a callee rethrew from a call of its own keeps the name of the service it
 * came from.
 */
function fromCallee(err: unknown, service: string): AigesError {
  const e = toAigesError(err);
  const message = isCalleeError(e) ? e.message : `service ${named(service)}: ${e.message}`;
  const error = new AigesError(e.aigesCode, message, {
    cause: e,
    detail: { ...e.detail, service, ...(e.sid === undefined ? {} : { sid: e.sid }) },
  });
  return calleeError(error);
}

/** Params as on the wire: strings. */
export function paramStrings(params: ServiceRequest['params']): Record<string, string> {
  const out: Record<string, string> = {};
  if (params === undefined) return out;
  for (const [name, value] of Object.entries(params)) out[name] = String(value);
  return out;
}

function bytesOf(data: OutputItem['data'], key: string): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new AigesError(Codes.INVALID_PARAM, `ctx.infer: item ${named(key)} data must be a Buffer, bytes or a string`);
}

/**
 * The request's items and tensors as data-plane items, without copying their bytes. `typeOf` gives
 * an item's type where the request leaves it out.
 */
export function requestItems(request: ServiceRequest, typeOf: (key: string) => DataType | undefined): DataItem[] {
  const items: DataItem[] = [];
  for (const i of request.items ?? []) {
    const item: DataItem = {
      key: i.key,
      type: i.type ?? typeOf(i.key) ?? DataType.OTHER,
      status: i.status ?? DataStatus.ONCE,
      encoding: i.encoding ?? '',
      attributes: i.attributes ?? {},
      data: bytesOf(i.data, i.key),
    };
    if (i.tensor !== undefined) item.tensor = i.tensor;
    items.push(item);
  }
  for (const t of request.inputs ?? []) {
    if (!isTensorDatatype(t.datatype)) {
      throw new AigesError(Codes.INVALID_PARAM, `ctx.infer: input ${named(t.name)} has no datatype V2 knows: ${named(String(t.datatype))}`);
    }
    if (!ArrayBuffer.isView(t.data)) {
      throw new AigesError(Codes.INVALID_PARAM, `ctx.infer: input ${named(t.name)} data must be a typed array or bytes`);
    }
    items.push({
      key: t.name,
      type: typeOf(t.name) ?? DataType.OTHER,
      status: DataStatus.ONCE,
      encoding: '',
      attributes: t.attributes ?? {},
      data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      tensor: { datatype: t.datatype, shape: [...t.shape] },
    });
  }
  return items;
}
