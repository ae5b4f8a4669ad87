/**
 * `aiges lb`: a stateless gRPC front for aiges.v1.Loader (Infer, Session, Metadata) and
 * grpc.health.v1.Health. Run as many as you like: each one discovers the instances of its
 * services through polaris (Discovery), subscribes to every instance's load stream, and picks by
 * live load (balancer-picker.ts). Nothing is shared between balancers but what the instances
 * report.
 *
 * Services: with `services` given, only those are fronted (others: 10200), and a request with an
 * empty `service` goes to the only one when there is exactly one. Without, any service a request
 * names is watched from its first request on (at most MAX_SERVICES of them).
 */
import * as grpc from '@grpc/grpc-js';
import { AigesError, Codes } from '../loader/errors.js';
import type { Logger } from '../loader/log.js';
import { bindGrpc } from '../loader/server/grpc.js';
import { loadHealthProto, loadLoaderProto } from '../proto/load.js';
import type { EndpointSnapshot } from './balancer-endpoint.js';
import { sessionForwarder, unaryForwarder, type Router } from './balancer-forward.js';
import { balancerHealth, type HealthView, type ServingStatus } from './balancer-health.js';
import { ServicePool } from './balancer-pool.js';
import type { Discovery } from './types.js';

/** Services watched at most when the balancer fronts whatever requests name. */
export const MAX_SERVICES = 256;
/** Default of `drainGraceMs`. */
const DRAIN_GRACE_MS = 10_000;

export interface BalancerOptions {
  discovery: Discovery;
  /** The services fronted; empty or absent: any service a request names. */
  services?: readonly string[] | undefined;
  log: Logger;
  /** At stop, how long calls and sessions in flight may take before they are cut. */
  drainGraceMs?: number | undefined;
}

const FORWARDED = ['Infer', 'Session', 'Metadata'] as const;

/** The aiges.v1.Loader methods the balancer forwards, with messages left as bytes. */
function passThroughDefinition(): grpc.ServiceDefinition {
  const loader = loadLoaderProto().aiges.v1.Loader.service;
  const identity = (bytes: Buffer) => bytes;
  const out: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  for (const name of FORWARDED) {
    out[name] = {
      ...(loader[name] as grpc.MethodDefinition<unknown, unknown>),
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
  }
  return out;
}

export class Balancer implements Router, HealthView {
  readonly #pools = new Map<string, ServicePool>();
  readonly #opening = new Map<string, Promise<ServicePool>>();
  readonly #services: readonly string[];
  readonly #server: grpc.Server;
  readonly #listeners = new Set<(stopped: boolean) => void>();
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #port = 0;

  constructor(private readonly options: BalancerOptions) {
    this.#services = options.services ?? [];
    this.#server = new grpc.Server({
      // NOTE: no size limit here: the loader enforces its own and answers 10201 itself.
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      'grpc.enable_channelz': 0,
    });
    const definition = passThroughDefinition();
    this.#server.addService(definition, {
      Infer: unaryForwarder(definition['Infer']!.path, this),
      Metadata: unaryForwarder(definition['Metadata']!.path, this),
      Session: sessionForwarder(definition['Session']!.path, this),
    });
    this.#server.addService(loadHealthProto().grpc.health.v1.Health.service, balancerHealth(this));
  }

  get port(): number {
    return this.#port;
  }

  /** Watches the configured services, then listens; resolves with the port (0 picks one). */
  async start(host: string, port: number): Promise<number> {
    await Promise.all(this.#services.map((s) => this.#open(s)));
    this.#port = await bindGrpc(this.#server, host, port);
    this.options.log.info({ host, port: this.#port, services: this.#services }, 'balancer listening');
    return this.#port;
  }

  pool(service: string): ServicePool | Promise<ServicePool> {
    if (this.#stopped) throw new AigesError(Codes.INSTANCE_INACTIVE, 'the balancer is stopping');
    let name = service;
    if (name === '') {
      if (this.#services.length !== 1) {
        throw new AigesError(Codes.SERVICE_NOT_FOUND, 'the request names no service; this balancer fronts several: set "service"');
      }
      name = this.#services[0] as string;
    } else if (this.#services.length > 0 && !this.#services.includes(name)) {
      throw new AigesError(Codes.SERVICE_NOT_FOUND, `this balancer does not front service "${name}"`);
    }
    return this.#pools.get(name) ?? this.#open(name);
  }

  async status(service: string): Promise<ServingStatus | undefined> {
    if (service === '' || service === 'aiges.v1.Loader') return this.#stopped ? 'NOT_SERVING' : 'SERVING';
    let pool: ServicePool;
    try {
      pool = await this.pool(service);
    } catch (err) {
      if ((err as AigesError).aigesCode === Codes.SERVICE_NOT_FOUND) return undefined;
      return 'NOT_SERVING';
    }
    return pool.liveCount > 0 ? 'SERVING' : 'NOT_SERVING';
  }

  onChange(listener: (stopped: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every instance of every watched service, as the balancer sees it now. */
  snapshot(): Record<string, EndpointSnapshot[]> {
    return Object.fromEntries([...this.#pools].map(([service, pool]) => [service, pool.snapshot()]));
  }

  /** Stops taking calls, lets those in flight finish (up to drainGraceMs), closes every channel. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    this.#emit();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.options.log.warn('calls still in flight after the grace period: cutting them');
        this.#server.forceShutdown();
        resolve();
      }, this.options.drainGraceMs ?? DRAIN_GRACE_MS);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await Promise.allSettled(this.#opening.values());
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
    this.options.log.info('balancer stopped');
  }

  #open(service: string): Promise<ServicePool> {
    const opening = this.#opening.get(service);
    if (opening !== undefined) return opening;
    if (this.#opening.size >= MAX_SERVICES) {
      return Promise.reject(new AigesError(Codes.SERVICE_NOT_FOUND, `this balancer already watches ${MAX_SERVICES} services`));
    }
    const promise = ServicePool.open(service, this.options.discovery, this.options.log).then((pool) => {
      if (this.#stopped) {
        pool.close();
        throw new AigesError(Codes.INSTANCE_INACTIVE, 'the balancer is stopping');
      }
      this.#pools.set(service, pool);
      pool.onChange(() => this.#emit());
      return pool;
    });
    this.#opening.set(service, promise);
    // A failed watch (etcd unreachable) is retried by the next request naming the service.
    promise.catch(() => this.#opening.delete(service));
    return promise;
  }

  #emit(): void {
    for (const listener of this.#listeners) listener(this.#stopped);
  }
}
