/**
 * `aiges lb`: a stateless gRPC front for aiges.v1.Loader (Infer, Session, Metadata), the Open
 * Inference Protocol V2's inference.GRPCInferenceService (model methods routed by model name,
 * server methods answered here: v2-server.ts) and grpc.health.v1.Health. Run as many as you like: each one discovers the instances of its
 * services through polaris (Discovery), subscribes to every instance's load stream, and picks by
 * live load (balancer-picker.ts). Nothing is shared between balancers but what the instances
 * report.
 *
 * Services: with `services` given, only those are fronted (others: 10200), and a request with an
 * empty `service` goes to the only one when there is exactly one. Without, any service a request
 * names is watched from its first request on (at most MAX_SERVICES of them).
 */
import http2, {
  type ClientHttp2Stream,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { AigesError, Codes } from '../../loader/errors.js';
import type { Logger } from '../../loader/log.js';
import type { TlsFiles } from '../../loader/lib/tls-files.js';
import { followTlsFiles, secureServerOptions } from '../../loader/lib/tls-servers.js';
import { installRoot } from '../../loader/lib/install-root.js';
import { loadHealthProto, loadInferenceProto } from '../../proto/load.js';
import type { EndpointSnapshot } from './endpoint.js';
import type { EdgeAuth, HopSigner } from './edge-auth.js';
import { checkOwnCall, forwardSession, forwardUnary, type Router } from './forward.js';
import { balancerHealth, type HealthView, type ServingStatus } from './health.js';
import { H2_MAX_SESSION_MEMORY, H2_SESSION_WINDOW, H2_SETTINGS, H2Link } from './link.js';
import { ServicePool } from './pool.js';
import { ROUTES } from './route.js';
import { balancerV2, type ReadyView } from './v2-server.js';
import { relay } from './relay.js';
import { respondError, upstreamHeaders } from './h2-grpc.js';
import type { Discovery } from '../store/types.js';

/** Services watched at most when the balancer fronts whatever requests name. */
export const MAX_SERVICES = 256;
/** The V2 methods the balancer answers itself (v2-server.ts); the model methods are forwarded (route.ts). */
const V2_OWN: ReadonlySet<string> = new Set(
  ['ServerLive', 'ServerReady', 'ServerMetadata'].map((m) => `/inference.GRPCInferenceService/${m}`),
);
/** Default of `drainGraceMs`. */
const DRAIN_GRACE_MS = 10_000;
/** Default of `maxMessageBytes`: above any loader's own limit that makes sense (16 MiB default). */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export interface BalancerOptions {
  discovery: Discovery;
  /** The services fronted; empty or absent: any service a request names. */
  services?: readonly string[] | undefined;
  log: Logger;
  /** At stop, how long calls and sessions in flight may take before they are cut. */
  drainGraceMs?: number | undefined;
  /**
   * Largest request message carried (10201 above). The loaders enforce their own, smaller limit;
   * this one bounds what the balancer buffers to route a call.
   */
  maxMessageBytes?: number | undefined;
  /**
   * Carry small once calls to each instance on one Relay stream (loader.proto RelayFrame) rather
   * than on a stream each (default true; false: `aiges lb --no-relay`).
   */
  relay?: boolean | undefined;
  /**
   * How long a Session stream may take to send its open message, which names the service the
   * balancer routes by (10019 past it). Default SESSION_OPEN_TIMEOUT_MS.
   */
  sessionOpenTimeoutMs?: number | undefined;
  /**
   * TLS on the front from these files (mutual TLS when they have a CA), followed as they change;
   * absent: plaintext. The caller owns (closes) them.
   */
  tls?: TlsFiles | undefined;
  /**
   * For instances that register `tls: true`: the CA to trust (default Node's roots) and a client
   * certificate for loaders that require one (upstream.ts). The caller owns (closes) them.
   */
  upstreamTls?: TlsFiles | undefined;
  /**
   * AK/SK at the edge: every call's signature checked (10206/10207/10208 as a loader answers),
   * before anything is routed; absent: calls pass unchecked (edge-auth.ts). The balancer closes it.
   */
  auth?: EdgeAuth | undefined;
  /** The balancer's own key (`relay = true`): signs every stream to a loader; absent: unsigned. */
  signer?: HopSigner | undefined;
}

/** Default of `sessionOpenTimeoutMs`. */
export const SESSION_OPEN_TIMEOUT_MS = 10_000;

export class Balancer implements Router, HealthView, ReadyView {
  readonly maxMessageBytes: number;
  readonly sessionOpenTimeoutMs: number;
  readonly edge: EdgeAuth | undefined;
  readonly #pools = new Map<string, ServicePool>();
  readonly #opening = new Map<string, Promise<ServicePool>>();
  readonly #services: readonly string[];
  /** The front: aiges.v1.Loader and V2 model calls forwarded as raw HTTP/2 streams (balancer-forward.ts). */
  readonly #server: Http2Server | Http2SecureServer;
  readonly #sessions = new Set<Http2Session>();
  /** Behind the front, on loopback: the balancer's own gRPC services (health, V2 server methods), served by grpc-js. */
  readonly #own: grpc.Server;
  #ownLink: H2Link | undefined;
  readonly #listeners = new Set<(stopped: boolean) => void>();
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #port = 0;

  constructor(private readonly options: BalancerOptions) {
    this.#services = options.services ?? [];
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.sessionOpenTimeoutMs = options.sessionOpenTimeoutMs ?? SESSION_OPEN_TIMEOUT_MS;
    this.edge = options.auth;
    this.#server = createFront(options.tls);
    this.#server.on('session', (session: Http2Session) => {
      this.#sessions.add(session);
      session.on('error', () => undefined); // each stream sees its own end
      session.once('close', () => this.#sessions.delete(session));
      session.setLocalWindowSize(H2_SESSION_WINDOW); // a server session is connected when it is handed over
    });
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#onStream(stream, headers));
    this.#own = new grpc.Server({ 'grpc.enable_channelz': 0 });
    this.#own.addService(loadHealthProto().grpc.health.v1.Health.service, balancerHealth(this));
    // Only the server methods: the model methods are forwarded at the front and never get here.
    this.#own.addService(loadInferenceProto().inference.GRPCInferenceService.service, balancerV2(this, installRoot().version));
  }

  get port(): number {
    return this.#port;
  }

  /** Watches the configured services, then listens; resolves with the port (0 picks one). */
  async start(host: string, port: number): Promise<number> {
    if (this.edge !== undefined) {
      // Keys followed from now on (a revoked one refused as soon as its source says so), and in
      // hand before the first call: until then every signed call would be refused.
      this.edge.verifier.watch();
      await this.edge.verifier.keys.loaded;
    }
    await Promise.all(this.#services.map((s) => this.#open(s)));
    this.#ownLink = new H2Link(`127.0.0.1:${await bindLoopback(this.#own)}`);
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as { port: number }).port);
      });
    });
    this.options.log.info(
      {
        host,
        port: this.#port,
        services: this.#services,
        tls: this.options.tls !== undefined,
        auth: this.edge === undefined ? 'none' : 'aksk',
        access_key: this.options.signer?.credentials.accessKey,
      },
      'balancer listening',
    );
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

  ready(): boolean {
    if (this.#stopped) return false;
    for (const pool of this.#pools.values()) if (pool.liveCount > 0) return true;
    return false;
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
    // No new connections; GOAWAY on each open one: its calls in flight finish, new ones go elsewhere.
    this.#server.close();
    for (const session of this.#sessions) session.close();
    const closed = Promise.all([...this.#sessions].map((s) => new Promise((resolve) => s.once('close', resolve))));
    let force: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      force = setTimeout(() => resolve(true), this.options.drainGraceMs ?? DRAIN_GRACE_MS);
    });
    if (await Promise.race([closed.then(() => false), graceOver])) {
      this.options.log.warn('calls still in flight after the grace period: cutting them');
      for (const session of this.#sessions) session.destroy();
    }
    clearTimeout(force);
    this.#ownLink?.close();
    this.#own.forceShutdown();
    await Promise.allSettled(this.#opening.values());
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
    this.edge?.close();
    this.options.log.info('balancer stopped');
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined); // a reset by the client shows as 'close'
    const path = headers[':path'] ?? '';
    if (this.#stopped) return respondError(stream, new AigesError(Codes.INSTANCE_INACTIVE, 'the balancer is stopping'));
    const route = ROUTES.get(path);
    if (route?.mode === 'unary') return forwardUnary(stream, headers, this);
    if (route?.mode === 'stream') return forwardSession(stream, headers, this);
    // Anything else (health, V2 server methods, unknown methods) is the balancer's own grpc-js server's to answer.
    // NOTE: with AK/SK, the V2 server methods are signed calls, as at a loader; health stays open (probes).
    if (V2_OWN.has(path)) return checkOwnCall(stream, headers, this, (initial) => this.#toOwn(stream, headers, initial));
    this.#toOwn(stream, headers, []);
  }

  /** Relays a call to the balancer's own grpc-js server; `initial`: its request bytes read already. */
  #toOwn(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, initial: readonly Buffer[]): void {
    const link = this.#ownLink;
    if (link === undefined) return respondError(stream, new AigesError(Codes.INSTANCE_INACTIVE, 'the balancer is starting'));
    let up: ClientHttp2Stream;
    try {
      up = link.request(upstreamHeaders(headers, link.address));
    } catch (err) {
      return respondError(stream, err);
    }
    up.on('error', () => undefined);
    relay(stream, up, initial, link.address, () => undefined);
  }

  #open(service: string): Promise<ServicePool> {
    const opening = this.#opening.get(service);
    if (opening !== undefined) return opening;
    if (this.#opening.size >= MAX_SERVICES) {
      return Promise.reject(new AigesError(Codes.SERVICE_NOT_FOUND, `this balancer already watches ${MAX_SERVICES} services`));
    }
    const { discovery, log, relay, upstreamTls, signer } = this.options;
    const promise = ServicePool.open(service, discovery, log, relay ?? true, { files: upstreamTls, signer }).then((pool) => {
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

/** The front's HTTP/2 server: plaintext, or TLS following `tls`. */
function createFront(tls: TlsFiles | undefined): Http2Server | Http2SecureServer {
  const options = { settings: H2_SETTINGS, maxSessionMemory: H2_MAX_SESSION_MEMORY };
  if (tls === undefined) return http2.createServer(options);
  const server = http2.createSecureServer({ ...options, ...secureServerOptions(tls) });
  followTlsFiles(server, tls);
  // A connection reset after the handshake surfaces on the socket too (nodejs/node#35824): each
  // stream and session sees its own end.
  server.on('secureConnection', (socket: TLSSocket) => socket.on('error', () => undefined));
  return server;
}

/** Binds the balancer's own grpc-js server on a free loopback port (only the front reaches it). */
function bindLoopback(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}
