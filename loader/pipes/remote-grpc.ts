/**
 * `ctx.infer` to another loader's service (dataplane/pipe.ts, RemoteServices), over aiges.v1 gRPC,
 * which carries items whole (type, status, encoding, attributes, tensor): to an address
 * (`address: 'host:port'`, `grpcs://host:port` over TLS with Node's roots), or to an instance of
 * the service that polaris lists (`via: 'polaris'`: polaris/client/resolver.ts, round robin over
 * the live instances, following membership as it changes).
 *
 * The call's remaining time is the gRPC deadline; the caller's call ending cancels the gRPC call.
 * Through polaris, a service with no live instance is refused at once (10101, retryable) rather
 * than left waiting for one until the deadline: the remote keeps a watch of each service it called
 * (the first call waits for its first answer, within the deadline).
 * An item the request leaves without a type gets the type the remote service declares for its key,
 * read from its Metadata once per channel and service (a schema changes with a plugin, seldom).
 * One channel per address or service, kept until `close`.
 *
 * `protocol: 'v2'` speaks Open Inference Protocol V2 gRPC to the address instead (remote-v2.ts).
 * Over aiges.v1 the call's nesting depth goes as header `aiges-pipeline-depth`, where the remote
 * loader's data plane starts the call's depth: a loop across loaders ends with 10211 too (a V2
 * server, maybe no loader, is sent no such header).
 *
 * `[pipes]` (RemoteOptions): with `access_key` and `secret_key_file` every remote call is signed
 * (AK/SK, as `aiges call` signs: a loader with `[auth] mode = "aksk"` takes it), on every route and
 * protocol; `ca_file`, `cert_file`, `key_file` apply to `grpcs://` addresses.
 */
import * as grpc from '@grpc/grpc-js';
import { signedClient } from '../lib/grpc-sign.js';
import { channelCredentials, type RemoteOptions } from './remote-options.js';
import { createPolarisClient } from '../../polaris/client/resolver.js';
import type { Discovery, Watcher } from '../../polaris/store/types.js';
import { loadLoaderProto } from '../../proto/load.js';
import type { LoaderClient } from '../../proto/gen/aiges/v1/Loader.js';
import type { InferResponse__Output } from '../../proto/gen/aiges/v1/InferResponse.js';
import type { MetadataResponse__Output } from '../../proto/gen/aiges/v1/MetadataResponse.js';
import { isKnownCode } from '../../plugins/errors.js';
import { AigesError, Codes, named } from '../errors.js';
import { ANY_KEY } from '../plugin/schema.js';
import { itemFromWire, itemToWire } from '../server/grpc-convert.js';
import { PIPELINE_DEPTH_HEADER, paramStrings, type RemoteServices, requestItems } from '../dataplane/pipe.js';
import type { GRPCInferenceServiceClient } from '../../proto/gen/inference/GRPCInferenceService.js';
import type { ModelInferResponse__Output } from '../../proto/gen/inference/ModelInferResponse.js';
import { v2Answer, v2Client, v2Request } from './remote-v2.js';
import type { DataItem, DataType, ServiceCallOptions, ServiceRequest } from '../../plugins/types.js';

const CHANNEL = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

/** What a status without `aiges-code` (the remote never answered, or is no loader) means. */
const BY_STATUS: Readonly<Partial<Record<grpc.status, number>>> = {
  [grpc.status.DEADLINE_EXCEEDED]: Codes.EXEC_TIMEOUT,
  [grpc.status.CANCELLED]: Codes.CANCELLED,
  [grpc.status.UNAVAILABLE]: Codes.INSTANCE_INACTIVE,
  [grpc.status.RESOURCE_EXHAUSTED]: Codes.CAPACITY,
  [grpc.status.NOT_FOUND]: Codes.SERVICE_NOT_FOUND,
  [grpc.status.INVALID_ARGUMENT]: Codes.INVALID_PARAM,
};

type Route = Pick<ServiceCallOptions, 'address' | 'via' | 'protocol'>;

/** An address as written: `host:port` or `grpcs://host:port`. */
function target(written: string): { address: string; tls: boolean } {
  const address = written.replace(/^grpcs?:\/\//, '');
  if (!/^[^\s/]+:\d+$/.test(address)) {
    throw new AigesError(Codes.INVALID_OP, `ctx.infer: address must be host:port or grpcs://host:port, got ${named(written)}`);
  }
  return { address, tls: written.startsWith('grpcs://') };
}

export class GrpcRemote implements RemoteServices {
  /** Where `via: 'polaris'` finds instances: the loader's polaris, when it has a `[polaris]` section. */
  discovery: Discovery | undefined;
  readonly #options: RemoteOptions;
  readonly #channels = new Map<string, LoaderClient | GRPCInferenceServiceClient>();
  readonly #types = new WeakMap<LoaderClient, Map<string, Promise<ReadonlyMap<string, DataType>>>>();
  /** Per service called via polaris: how many live instances it lists, once known. */
  readonly #members = new Map<string, { count: number; first: Promise<void>; watcher: Promise<Watcher> }>();

  constructor(options: RemoteOptions = {}) {
    this.#options = options;
  }

  async infer(
    service: string,
    request: ServiceRequest,
    route: Route,
    call: { deadline: number; signal: AbortSignal; depth: number },
  ): Promise<DataItem[]> {
    if (route.protocol === 'v2') return this.#inferV2(service, request, route, call);
    if (route.protocol !== undefined && route.protocol !== 'aiges') {
      throw new AigesError(Codes.INVALID_OP, `ctx.infer: unknown protocol ${named(String(route.protocol))}`);
    }
    const client = this.#client(service, route);
    if (route.address === undefined && (await within(this.#listed(service), call)) === 0) {
      throw new AigesError(Codes.INSTANCE_INACTIVE, `polaris lists no live instance of service ${named(service)}`, {
        detail: { service },
      });
    }
    let types: ReadonlyMap<string, DataType> | undefined;
    if (needsTypes(request)) types = await this.#inputTypes(client, service, call);
    const items = requestItems(request, (key) => types?.get(key) ?? types?.get(ANY_KEY));
    const headers = { ...request.headers, [PIPELINE_DEPTH_HEADER]: String(call.depth) };
    const message = { service, params: paramStrings(request.params), headers, items: items.map(itemToWire) };
    const response = await unary<InferResponse__Output>(call, (options, done) => client.Infer(message, options, done));
    return response.items.map(itemFromWire);
  }

  /** Closes every channel and watch. */
  close(): void {
    for (const client of this.#channels.values()) client.close();
    this.#channels.clear();
    for (const { watcher } of this.#members.values())
      void watcher.then(
        (w) => w.close(),
        () => undefined,
      );
    this.#members.clear();
  }

  /** How many live instances polaris lists for `service` (the discovery is there: `#client` checked). */
  #listed(service: string): Promise<number> {
    let entry = this.#members.get(service);
    if (entry === undefined) {
      let answered!: () => void;
      const first = new Promise<void>((resolve) => (answered = resolve));
      const e = { count: -1, first, watcher: undefined as unknown as Promise<Watcher> };
      e.watcher = (this.discovery as Discovery).watch(service, (instances) => {
        e.count = instances.length;
        answered();
      });
      // A watch the store refuses is tried again by the next call (this one's deadline ends it).
      e.watcher.catch(() => this.#members.delete(service));
      this.#members.set(service, (entry = e));
    }
    const e = entry;
    return e.count >= 0 ? Promise.resolve(e.count) : e.first.then(() => e.count);
  }

  async #inferV2(
    service: string,
    request: ServiceRequest,
    route: Route,
    call: { deadline: number; signal: AbortSignal },
  ): Promise<DataItem[]> {
    if (route.address === undefined) throw new AigesError(Codes.INVALID_OP, "ctx.infer: protocol 'v2' needs an address");
    const key = `v2 ${route.address}`;
    let client = this.#channels.get(key) as GRPCInferenceServiceClient | undefined;
    if (client === undefined) {
      const { address, tls } = target(route.address);
      client = v2Client(address, tls, CHANNEL, this.#options);
      this.#channels.set(key, client);
    }
    const message = v2Request(
      service,
      requestItems(request, () => undefined),
      paramStrings(request.params),
    );
    const v2 = client;
    return v2Answer(await unary<ModelInferResponse__Output>(call, (options, done) => v2.ModelInfer(message, options, done)));
  }

  #client(service: string, route: Route): LoaderClient {
    let key: string;
    let make: () => LoaderClient;
    if (route.address !== undefined) {
      const { address, tls } = target(route.address);
      key = `address ${route.address}`;
      const Loader = loadLoaderProto().aiges.v1.Loader;
      make = () => signedClient<LoaderClient>(Loader, address, channelCredentials(tls, this.#options), CHANNEL, this.#options.credentials);
    } else if (route.via === 'polaris') {
      const discovery = this.discovery;
      if (discovery === undefined) throw new AigesError(Codes.INVALID_OP, "ctx.infer via 'polaris' needs the loader's [polaris] section");
      key = `polaris ${service}`;
      make = () => createPolarisClient(service, discovery, CHANNEL, this.#options.credentials);
    } else {
      throw new AigesError(Codes.INVALID_OP, `ctx.infer: unknown route via ${named(String(route.via))}`);
    }
    let client = this.#channels.get(key) as LoaderClient | undefined;
    if (client === undefined) {
      client = make();
      this.#channels.set(key, client);
    }
    return client;
  }

  /** The input types `service` declares, by key (read once per channel; a failed read is tried again next time). */
  #inputTypes(
    client: LoaderClient,
    service: string,
    call: { deadline: number; signal: AbortSignal },
  ): Promise<ReadonlyMap<string, DataType>> {
    let byService = this.#types.get(client);
    if (byService === undefined) this.#types.set(client, (byService = new Map()));
    let types = byService.get(service);
    if (types === undefined) {
      types = unary<MetadataResponse__Output>(call, (options, done) => client.Metadata({ service }, options, done)).then(
        (meta) => new Map(meta.inputs.map((spec) => [spec.key, spec.type as DataType])),
      );
      const cache = byService;
      types.catch(() => cache.delete(service));
      byService.set(service, types);
    }
    return types;
  }
}

function needsTypes(request: ServiceRequest): boolean {
  return (request.inputs?.length ?? 0) > 0 || (request.items ?? []).some((i) => i.type === undefined);
}

type Done<T> = (err: grpc.ServiceError | null, value?: T) => void;

/** One unary call under the caller's deadline, cancelled when its signal fires. */
function unary<T>(
  call: { deadline: number; signal: AbortSignal },
  start: (options: grpc.CallOptions, done: Done<T>) => grpc.ClientUnaryCall,
): Promise<T> {
  const { signal } = call;
  if (signal.aborted) return Promise.reject(ended(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(ended(signal.reason));
      pending.cancel();
    };
    const pending = start({ deadline: call.deadline }, (err, value) => {
      signal.removeEventListener('abort', onAbort);
      if (err !== null) reject(remoteError(err));
      else resolve(value as T);
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `work`, unless the caller's call ends or the deadline passes first. */
function within<T>(work: Promise<T>, call: { deadline: number; signal: AbortSignal }): Promise<T> {
  const { signal } = call;
  if (signal.aborted) return Promise.reject(ended(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ended(signal.reason));
    const timer = setTimeout(
      () => reject(new AigesError(Codes.EXEC_TIMEOUT, 'deadline exceeded waiting for polaris')),
      call.deadline - Date.now(),
    );
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}

/** The caller's call ended: the remote call ends with its code. */
function ended(reason: unknown): AigesError {
  const code = (reason as { aigesCode?: unknown } | null)?.aigesCode;
  return new AigesError(isKnownCode(code) ? code : Codes.CANCELLED, `the calling call ended: ${(reason as Error)?.message ?? reason}`);
}

/** A failed gRPC call as an AigesError: the remote loader's `aiges-code`, else the status's meaning. */
function remoteError(err: grpc.ServiceError): AigesError {
  const trailer = Number(err.metadata?.get('aiges-code')[0]);
  const code = isKnownCode(trailer) ? trailer : (BY_STATUS[err.code] ?? Codes.INTERNAL);
  return new AigesError(code as AigesError['aigesCode'], err.details || err.message, { cause: err, detail: { grpc_status: err.code } });
}
