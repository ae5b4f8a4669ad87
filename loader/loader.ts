/**
 * A running loader: logger, metrics, plugin registry, data plane, gRPC and HTTP servers, and the
 * lifecycle order. Start: listen → init plugin → ready. Stop: not ready → refuse new calls →
 * drain (up to the grace period) → fini → close servers.
 */
import type { DestinationStream } from 'pino';
import type * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { LoaderConfig } from './config/schema.js';
import { Dataplane } from './dataplane/dataplane.js';
import { HealthState } from './health.js';
import { createLogger, type Logger } from './log.js';
import { LoaderMetrics } from './metrics.js';
import { PluginRegistry } from './plugin/registry.js';
import { bindGrpc, createGrpcServer } from './server/grpc.js';
import { createHttpServer } from './server/http.js';

/** After the drain, how long open gRPC streams (e.g. health watchers) get before being cut. */
const GRPC_SHUTDOWN_GRACE_MS = 1_000;

export interface LoaderOptions {
  /** Log destination (default: stdout). */
  logDestination?: DestinationStream;
  /** Collect Node's default process metrics (default true). */
  defaultMetrics?: boolean;
}

export class Loader {
  readonly log: Logger;
  readonly metrics: LoaderMetrics;
  readonly health = new HealthState();
  readonly registry: PluginRegistry;
  readonly dataplane: Dataplane;
  readonly #grpc: grpc.Server;
  readonly #http: FastifyInstance;
  #grpcPort = 0;
  #httpPort = 0;
  #stopping: Promise<void> | undefined;

  constructor(
    readonly config: Readonly<LoaderConfig>,
    options: LoaderOptions = {},
  ) {
    this.log = createLogger(config.log.level, options.logDestination);
    this.metrics = new LoaderMetrics({ defaultMetrics: options.defaultMetrics ?? true });
    this.registry = new PluginRegistry(this.log, (service, key, count) => this.metrics.meter.inc({ service, key }, count));
    this.dataplane = new Dataplane(this.registry, config.limits, this.metrics, this.log);
    const deps = {
      dataplane: this.dataplane,
      health: this.health,
      metrics: this.metrics,
      log: this.log,
      maxMessageBytes: config.limits.max_message_bytes,
      sessionIdleTimeoutMs: config.limits.session_idle_timeout_ms,
    };
    this.#grpc = createGrpcServer(deps);
    this.#http = createHttpServer(deps);
  }

  get grpcPort(): number {
    return this.#grpcPort;
  }

  get httpPort(): number {
    return this.#httpPort;
  }

  /** Listens, loads and initialises the plugin, then turns ready. Throws if init fails. */
  async start(): Promise<void> {
    const { host, grpc_port, http_port } = this.config.server;
    this.#grpcPort = await bindGrpc(this.#grpc, host, grpc_port);
    await this.#http.listen({ host, port: http_port });
    const address = this.#http.server.address();
    this.#httpPort = typeof address === 'object' && address !== null ? address.port : http_port;
    this.log.info({ grpc_port: this.#grpcPort, http_port: this.#httpPort, host }, 'listening');

    const { path, kind, concurrency, init_timeout_ms } = this.config.plugin;
    if (path === undefined) throw new Error('no plugin to serve: give a plugin path (aiges serve <plugin>)');
    const instance = await this.registry.load({
      path,
      kind,
      settings: this.config.plugin,
      config: this.config.wrapper,
      concurrency: concurrency === 0 ? this.config.limits.capacity : concurrency,
      initTimeoutMs: init_timeout_ms,
    });
    this.health.set('serving');
    this.log.info({ service: instance.service, capacity: this.config.limits.capacity }, 'ready');
  }

  /** Graceful stop; safe to call more than once (later calls wait for the first). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** Graceful gRPC shutdown; streams still open a moment after the drain are cut. */
  #shutdownGrpc(): Promise<void> {
    return new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.log.warn('gRPC streams still open after the drain: closing them');
        this.#grpc.forceShutdown();
        resolve();
      }, GRPC_SHUTDOWN_GRACE_MS);
      this.#grpc.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  async #stop(): Promise<void> {
    const grace = this.config.limits.drain_grace_ms;
    this.health.set('draining');
    this.log.info({ inflight: this.dataplane.admission.inUse, grace_ms: grace }, 'draining');
    const drained = await this.dataplane.drain(grace);
    if (!drained) this.log.warn({ left: this.dataplane.admission.inUse }, 'grace period over; cancelled what was left');
    await this.registry.retireAll(drained ? grace : 1_000, this.config.plugin.fini_timeout_ms);
    this.health.set('stopped');
    await Promise.all([this.#http.close(), this.#shutdownGrpc()]);
    this.log.info('stopped');
    await new Promise<void>((resolve) => this.log.flush(() => resolve()));
  }
}
