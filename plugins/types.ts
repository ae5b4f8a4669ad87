/**
 * The data model shared by every protocol and the plugin contract (docs/plugins.md).
 * Enum values are AIGes's, so items map one to one onto AIGes `DataList` nodes.
 */
import type { NumericDatatype, TensorArrays, TensorDatatype } from './tensor.js';

export const DataType = { TEXT: 0, AUDIO: 1, IMAGE: 2, VIDEO: 3, OTHER: 4 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

export const DataStatus = { BEGIN: 0, CONTINUE: 1, END: 2, ONCE: 3 } as const;
export type DataStatus = (typeof DataStatus)[keyof typeof DataStatus];

/** Schema names of the data types, as written in a wrapper's schema. */
export type DataTypeName = 'text' | 'audio' | 'image' | 'video' | 'other';

export const DATA_TYPE_BY_NAME: Readonly<Record<DataTypeName, DataType>> = {
  text: DataType.TEXT,
  audio: DataType.AUDIO,
  image: DataType.IMAGE,
  video: DataType.VIDEO,
  other: DataType.OTHER,
};

/**
 * Tensor view of an item's bytes (Open Inference Protocol datatype names, e.g. "FP32"): `data`
 * holds the elements little-endian and row-major (plugins/tensor.ts, `tensorView`).
 */
export interface TensorInfo {
  datatype: string;
  shape: number[];
}

/** One unit of input or output; mirrors an AIGes `DataList` node. */
export interface DataItem {
  key: string;
  type: DataType;
  status: DataStatus;
  encoding: string;
  /** Format attributes: sample_rate, channels, width, height, ... */
  attributes: Record<string, string>;
  /**
   * The bytes. On input this is a read-only view into the received message (never copied); a
   * plugin may keep it, or return it as output, but must not modify it. On output the loader
   * takes the Buffer the plugin returns and writes it to the client without copying.
   */
  data: Buffer;
  tensor?: TensorInfo;
}

/** What a plugin may return for an output item; the loader fills the rest from the schema. */
export interface OutputItem {
  key: string;
  data: Buffer | Uint8Array | string;
  type?: DataType;
  status?: DataStatus;
  encoding?: string;
  attributes?: Record<string, string>;
  tensor?: TensorInfo;
}

export type ParamValue = string | number | boolean;
/** Params after validation: coerced to their declared types, defaults filled in. */
export type Params = Readonly<Record<string, ParamValue>>;

export interface InferRequest {
  service: string;
  /** Validated params. The request id is always present as `sid` (as in AIGes). */
  params: Params;
  headers: Readonly<Record<string, string>>;
  items: readonly DataItem[];
  /**
   * The version the client named (V2 `/versions/{v}`, gRPC `model_version`), one of the wrapper's
   * `versions`; absent: the latest.
   */
  version?: string;
}

/** A request as adapters hand it to the data plane: params still as received (strings). */
export interface RawRequest {
  service: string;
  params: Record<string, string>;
  headers: Record<string, string>;
  items: DataItem[];
  /** The version the client named, if any (checked against the wrapper's `versions` by the adapter). */
  version?: string | undefined;
}

/** A batch of session results as the loader delivers them. */
export interface SessionResult {
  items: DataItem[];
  /** END on the last result of the session, CONTINUE before. */
  status: DataStatus;
}

// ---------------------------------------------------------------------------------------------
// Schema

export interface ItemSpec {
  type: DataTypeName;
  /** Input only: whether a once request must carry this key. Default true. */
  required?: boolean;
  /** Accepted (input) or produced (output) encodings; empty accepts any. */
  encodings?: readonly string[];
  description?: string;
  /**
   * A tensor item (Open Inference Protocol datatype, e.g. "FP32"): an input must then carry a
   * tensor of this datatype (`DataItem.tensor`), with its data sized as its shape says; V2 model
   * metadata lists the key as this tensor. Without it the item is plain bytes, listed in V2 as a
   * BYTES tensor of one element (docs/v2.md).
   */
  datatype?: TensorDatatype;
  /** With `datatype`: the tensor's shape, -1 for a dimension of any size. Absent: any shape. */
  shape?: readonly number[];
}

interface ParamBase<T> {
  description?: string;
  /** Used when the request omits the param. */
  default?: T;
  /** A request without the param (and no default) is rejected. Default false. */
  required?: boolean;
}

export type ParamSpec =
  | (ParamBase<string> & {
      type: 'string';
      enum?: readonly string[];
      pattern?: string;
      minLength?: number;
      maxLength?: number;
    })
  | (ParamBase<number> & { type: 'integer' | 'number'; minimum?: number; maximum?: number })
  | (ParamBase<boolean> & { type: 'boolean' });

/**
 * Input keys, output keys and params. The key "*" admits any other key: in input and output of
 * any item type (its own `type` is the default for outputs), in params with its constraints.
 */
export interface WrapperSchema {
  input: Readonly<Record<string, ItemSpec>>;
  output: Readonly<Record<string, ItemSpec>>;
  params?: Readonly<Record<string, ParamSpec>>;
}

// ---------------------------------------------------------------------------------------------
// Contexts

/** The minimal logger plugins get (a pino child logger in the loader). */
export interface Logger {
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** The `[wrapper]` config section, as parsed from TOML (values keep their TOML types). */
export type WrapperConfig = Readonly<Record<string, unknown>>;

interface BaseContext {
  /** The service id being served. */
  readonly service: string;
  /** A child logger; per-call contexts tag it with the request id. */
  readonly log: Logger;
  /** The `[wrapper]` config section. */
  readonly config: WrapperConfig;
  /** Counts a custom meter (AIGes's wrapperMeterCustom); exported as `aiges_plugin_meter_total`. */
  meter(key: string, count?: number): void;
}

export interface InitContext extends BaseContext {
  /** Aborted when init overruns `plugin.init_timeout_ms`; stop loading when it fires. */
  readonly signal: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// Calling other services (ctx.infer; docs/plugins.md, "Calling other services")

/** A tensor sent to another service: it becomes an input item named `name` carrying `tensor`. */
export interface TensorInput {
  name: string;
  datatype: TensorDatatype;
  /** -1 is not allowed here: the actual shape. */
  shape: readonly number[];
  /**
   * The elements, little-endian and row-major: a typed array (`Float32Array` for FP32, ...) or
   * bytes. In-process the callee sees this very memory (no copy): do not change it until the
   * call has settled.
   */
  data: ArrayBufferView;
  /** Item attributes (V2 tensor parameters). */
  attributes?: Record<string, string>;
}

/** A request to another service (`ctx.infer`). */
export interface ServiceRequest {
  /**
   * Input items as a plugin builds outputs: `key` and `data` (a Buffer, bytes or a UTF-8 string);
   * `type` defaults to the type the callee declares for the key (OTHER for an undeclared one),
   * `status` to ONCE, `encoding` to ''. A `DataItem` the caller received may be passed on as is.
   */
  items?: readonly OutputItem[];
  /** Tensor inputs; sent after `items`. */
  inputs?: readonly TensorInput[];
  /** Params; numbers and booleans are sent as strings, as on the wire. Default none. */
  params?: Readonly<Record<string, ParamValue>>;
  headers?: Readonly<Record<string, string>>;
}

/** Where and how long: the options of `ctx.infer`. */
export interface ServiceCallOptions {
  /**
   * The inner call's timeout. Its deadline is never later than the caller's own (`ctx.deadline`),
   * which it is by default.
   */
  timeoutMs?: number;
  /**
   * Another server's gRPC address (`host:port`, `grpcs://host:port`), spoken to in `protocol`: the
   * call goes over the network to it instead of to this loader's own services.
   */
  address?: string;
  /**
   * With `address`, the protocol spoken there: `"aiges"` (aiges.v1 gRPC, the default: items whole)
   * or `"v2"` (Open Inference Protocol V2 gRPC, for any V2 server: Triton, KServe, another loader;
   * items as tensors, docs/plugins.md).
   */
  protocol?: 'aiges' | 'v2';
  /**
   * `"polaris"`: an instance of the service that polaris lists (the loader's `[polaris]` section),
   * over aiges.v1 gRPC.
   */
  via?: 'polaris';
}

/** What another service answered: its output items, checked against its schema. */
export interface ServiceResponse {
  readonly items: readonly DataItem[];
  /** The output item `key`; throws an AigesError (10203) when the answer has none. */
  item(key: string): DataItem;
  /**
   * Output `key` as the typed array of its tensor's datatype (`tensorView`: no copy when aligned).
   * With `datatype`, also checks that the tensor has it. Throws a TypeError for an item that is
   * not a numeric tensor (or not of `datatype`).
   */
  tensor<D extends NumericDatatype = NumericDatatype>(key: string, datatype?: D): TensorArrays[D];
}

export interface CallContext<S> extends BaseContext {
  /** What `init` returned. */
  readonly state: S;
  /** The request id (also param `sid`). */
  readonly sid: string;
  /**
   * Aborted when the call is over for the client: at the deadline (10102), on the client's cancel
   * (10202), at a drain (10101), or, for a session, when it ended. The reason is the AigesError
   * the client got. Long work should stop when it fires: the loader cannot stop it, and an
   * abandoned call keeps its exec slot until it returns (see `exec`).
   */
  readonly signal: AbortSignal;
  /** Absolute deadline, epoch milliseconds. */
  readonly deadline: number;
  /**
   * Calls `service` in once mode and resolves with its output (a pipeline step). Without
   * `options.address` or `options.via` the service is one of this loader's own, called through
   * its data plane with no network and no copy of the bytes: the callee's validation, exec slots,
   * metrics and logs apply; it runs under this call's deadline (or an earlier one) and is
   * cancelled when this call ends. Rejects with an AigesError carrying the callee's code, which a
   * rethrow passes on to this call's client unchanged. Calls nested deeper than 8 are refused
   * (10211). With `isolation = "worker"` an exec's call is relayed to the loader (the request and
   * the answer copied once each way); a worker session's, and any under `isolation = "process"`,
   * reject with 10003. See docs/plugins.md, "Calling other services".
   */
  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse>;
}

// ---------------------------------------------------------------------------------------------
// The wrapper contract

/**
 * A live session of a plugin, made by `session.create`.
 *
 * Guarantees the loader gives:
 * - `write` calls are made one at a time, in the client's order; the next waits for the previous
 *   one's promise. Items passed to `write` may be read until it returns; copy what you keep.
 * - `end` is called at most once, after the last `write`, when the client has sent all input.
 * - `results` is read exactly once, concurrently with `write`; each value is one batch sent
 *   to the client as it comes, each checked against the output schema. Returning from the iterator
 *   ends the session; an item whose status is END (or ONCE) also marks the last batch. Throwing
 *   fails the session (code 10908). A ResultQueue is read without a promise per batch; a slow
 *   client leaves batches in it, so a plugin that awaits `push` is held back instead of buffering.
 * - `destroy` is called exactly once whatever happens (normal end, error, cancel, timeout), after
 *   which no other method is called. Free the session's resources there.
 */
export interface WrapperSession {
  write(items: readonly DataItem[]): void | Promise<void>;
  end?(): void | Promise<void>;
  readonly results: AsyncIterable<readonly OutputItem[]>;
  destroy?(): void | Promise<void>;
}

/**
 * Dynamic batching (docs/plugins.md, "Dynamic batching"): once requests that arrive together are
 * merged into one `exec` of up to `maxBatchSize` rows, the loader concatenating each tensor input
 * along its first dimension and cutting each tensor output back into each request's rows. The
 * loader's `[plugin.batching]` config overrides these values per service.
 */
export interface BatchingSettings {
  /**
   * The most rows (the sum of the requests' first dimensions) one `exec` receives. 0 or 1: no
   * batching. A request with more rows than this runs on its own.
   */
  maxBatchSize: number;
  /**
   * How long a request may wait for others to fill its batch before it runs with what has come.
   * Default 0: a batch runs as soon as an exec slot is free, and holds the requests that came while
   * every slot was busy.
   */
  maxQueueDelayMs?: number;
  /**
   * Batch sizes (rows) to form when the queue allows (Triton's preferred_batch_size): when the
   * oldest requests add up to one of them, they run at once as a batch of that size, without
   * waiting for the queue delay, and a batch is cut at the largest such size rather than filled
   * up to `maxBatchSize`. Sizes above `maxBatchSize` are ignored.
   */
  preferredBatchSizes?: readonly number[];
}

export interface WrapperDefinition<S = unknown> {
  /** The service id clients name (AIGes's service id). */
  id: string;
  version?: string;
  /**
   * The versions served, oldest first, when one wrapper serves several (a repository model,
   * docs/models.md): a V2 client may name one, which `exec` gets as `request.version`; `version`
   * is then the latest. Absent: just `version`.
   */
  versions?: readonly string[];
  description?: string;
  schema: WrapperSchema;
  /**
   * The schema of each version in `versions` whose tensors differ from the latest's (`schema`),
   * by version: a request naming that version is checked against it, and its V2 metadata shows
   * it. A version not listed here has `schema`.
   */
  versionSchemas?: Readonly<Record<string, WrapperSchema>>;
  /**
   * Called once per plugin instance set, before any other method, with the `[wrapper]` config.
   * May load a model. What it returns is the instance state, given back as `ctx.state`.
   * A hot config change runs a fresh `init` for a new set before `fini` of the old one, so two
   * states can exist at once: keep state in what you return, never in module globals.
   */
  init?(config: WrapperConfig, ctx: InitContext): S | Promise<S>;
  /**
   * Once mode: one request, one response. Called concurrently, at most `plugin.concurrency` calls
   * at a time (0: `limits.capacity`), only after `init` resolved. The request was validated against
   * the schema; its items' bytes may be read until the call returns or settles.
   *
   * At the deadline or when the client cancels, the client is answered at once and `ctx.signal`
   * fires, but a call cannot be interrupted: an abandoned exec keeps its place among the
   * `concurrency` (later calls wait for it) until it returns or settles, and its late result is
   * dropped. Honour `ctx.signal` so an abandoned call gives its place back early.
   */
  exec?(request: InferRequest, ctx: CallContext<S>): readonly OutputItem[] | Promise<readonly OutputItem[]>;
  /**
   * Once mode: merge concurrent requests into one `exec` (see BatchingSettings). With it, `exec`
   * may receive a request whose tensors hold the rows of several clients' requests, and must return
   * every output as a tensor whose first dimension is the request's rows (row i of an output
   * belongs to row i of the inputs). The batch's `ctx.sid` is its first request's, its params are
   * the params its requests share (requests with other params but `sid` never merge), its headers
   * are empty, and its `ctx.signal` fires only when every request of the batch was abandoned.
   * Requests whose items are not all tensors sharing a first dimension run on their own, as do
   * sessions.
   */
  batching?: BatchingSettings;
  /** Session mode: the factory of stateful streams. */
  session?: {
    /** Called once per session when a client opens it; sessions overlap freely. */
    create(params: Params, ctx: CallContext<S>): WrapperSession | Promise<WrapperSession>;
  };
  /**
   * Called once when the instance set is retired (shutdown or hot reload), after every call and
   * session of the set has returned, settled or been destroyed — or, for calls that never return,
   * after `limits.drain_grace_ms`: then an abandoned exec may still be running beside `fini`.
   */
  fini?(state: S): void | Promise<void>;
}

/** A definition made by `defineWrapper`; the brand survives a plugin bundling its own SDK copy. */
export type Wrapper<S = unknown> = WrapperDefinition<S> & { readonly [WRAPPER_BRAND]: true };

export const WRAPPER_BRAND: unique symbol = Symbol.for('aiges.wrapper.v1') as never;
