/**
 * Client-side balancing without the balancer hop: a grpc-js resolver for `polaris:///<service>`
 * that feeds the instances polaris knows (Discovery.watch) into the channel, which spreads calls
 * over them with grpc-js's own `round_robin`, and follows every membership change.
 *
 * NOTE: round_robin, not the balancer's least-loaded choice: a least-loaded policy inside
 * grpc-js would need a WatchLoad subscription per subchannel beside the channel's own
 * connections; `aiges lb` does that, and clients that need it go through `aiges lb`. Without
 * the hop there is also no retry on 10110: the caller sees RESOURCE_EXHAUSTED.
 *
 * A channel finds its Discovery through a channel option holding a key into this module's table
 * (channel options carry strings and numbers, not objects); `createPolarisClient` sets it up.
 */
import * as grpc from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';
import { signedClient } from '../../loader/lib/grpc-sign.js';
import type { AkSkCredentials } from '../../plugins/aksk.js';
import { loadLoaderProto } from '../../proto/load.js';
import type { LoaderClient } from '../../proto/gen/aiges/v1/Loader.js';
import type { Discovery, InstanceRecord, Watcher } from '../store/types.js';

type GrpcUri = grpc.experimental.GrpcUri;
type ResolverListener = grpc.experimental.ResolverListener;

export const POLARIS_SCHEME = 'polaris';
/** The channel option naming the Discovery a `polaris:///` channel resolves through. */
export const DISCOVERY_OPTION = 'aiges.polaris.discovery';

const SERVICE_CONFIG = { loadBalancingConfig: [{ round_robin: {} }], methodConfig: [] };

const discoveries = new Map<string, Discovery>();
const keys = new WeakMap<Discovery, string>();

/** The channel option value that makes a `polaris:///` channel resolve through `discovery`. */
export function discoveryOption(discovery: Discovery): string {
  let key = keys.get(discovery);
  if (key === undefined) {
    key = `discovery-${discoveries.size + 1}`;
    keys.set(discovery, key);
    discoveries.set(key, discovery);
  }
  return key;
}

function toEndpoint(record: InstanceRecord): grpc.experimental.Endpoint | undefined {
  const hostPort = grpc.experimental.splitHostPort(record.address);
  if (hostPort?.port === undefined) return undefined;
  return { addresses: [{ host: hostPort.host, port: hostPort.port }] };
}

class PolarisResolver implements grpc.experimental.Resolver {
  readonly #service: string;
  readonly #discovery: Discovery | undefined;
  #watcher: Watcher | undefined;
  #watching = false;
  #destroyed = false;

  constructor(
    target: GrpcUri,
    private readonly listener: ResolverListener,
    options: ChannelOptions,
  ) {
    this.#service = target.path.replace(/^\/+/, '');
    this.#discovery = discoveries.get(String(options[DISCOVERY_OPTION]));
  }

  static getDefaultAuthority(target: GrpcUri): string {
    return target.path.replace(/^\/+/, '');
  }

  updateResolution(): void {
    this.#destroyed = false;
    // NOTE: while watching, the watch pushes every change itself; the channel asking again (it
    // does whenever a connection drops) must not bounce the same list back: round_robin would ask
    // again at once, a loop that starves the event loop.
    if (this.#watching) return;
    if (this.#discovery === undefined) {
      return this.#fail(`no Discovery for ${POLARIS_SCHEME}:///${this.#service}: create the client with createPolarisClient`);
    }
    this.#watching = true;
    this.#discovery
      .watch(this.#service, (instances) => this.#report(instances))
      .then(
        (watcher) => {
          if (this.#destroyed) watcher.close();
          else this.#watcher = watcher;
        },
        (err: unknown) => {
          this.#watching = false;
          this.#fail(`polaris discovery failed: ${(err as Error).message}`);
        },
      );
  }

  destroy(): void {
    this.#destroyed = true;
    this.#watching = false;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #report(instances: InstanceRecord[]): void {
    const endpoints = instances.map(toEndpoint).filter((e) => e !== undefined);
    // NOTE: the listener must never run synchronously inside updateResolution (grpc-js's
    // contract), and a Discovery may call back from inside watch(): defer.
    setImmediate(() => {
      if (this.#destroyed) return;
      this.listener(
        grpc.experimental.statusOrFromValue(endpoints),
        {},
        grpc.experimental.statusOrFromValue(SERVICE_CONFIG),
        `polaris service "${this.#service}"`,
      );
    });
  }

  #fail(details: string): void {
    setImmediate(() => {
      if (this.#destroyed) return;
      this.listener(grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details }), {}, null, details);
    });
  }
}

let registered = false;

/** Registers the `polaris` scheme with grpc-js (once per process; later calls do nothing). */
export function registerPolarisResolver(): void {
  if (registered) return;
  registered = true;
  grpc.experimental.registerResolver(POLARIS_SCHEME, PolarisResolver);
}

/**
 * A client of aiges.v1.Loader that dials the instances of `service` directly, round robin,
 * following polaris as instances come and go. Close it with `client.close()`.
 */
export function createPolarisClient(
  service: string,
  discovery: Discovery,
  options: ChannelOptions = {},
  credentials?: AkSkCredentials,
): LoaderClient {
  registerPolarisResolver();
  const Loader = loadLoaderProto().aiges.v1.Loader;
  // NOTE: signed calls name the service as their authority (the signature covers it), whichever
  // instance the resolver picks.
  return signedClient<LoaderClient>(
    Loader,
    `${POLARIS_SCHEME}:///${service}`,
    grpc.credentials.createInsecure(),
    {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      ...options,
      ...(credentials === undefined ? {} : { 'grpc.default_authority': service }),
      [DISCOVERY_OPTION]: discoveryOption(discovery),
    },
    credentials,
  );
}
