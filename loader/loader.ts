/**
 * A running loader: logger, metrics, plugin registry, data plane, gRPC and HTTP servers, and the
 * lifecycle order. Start: listen → init plugin → [polaris: apply the service's current
 * config] → ready → [polaris: register, follow config]. Stop: not ready → [polaris: deregister] →
 * refuse new calls → drain (up to the grace period) → [polaris: finish a config apply] → fini →
 * close servers. Without a [polaris] section (and no injected Polaris) the loader is standalone.
 */
import type { DestinationStream } from 'pino';
import type * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { AkSkAuth } from './auth/aksk.js';
import { KeysFile, type KeySource } from './auth/keys.js';
import { PolarisKeys } from './auth/keys-polaris.js';
import type { LoaderConfig, PolarisSettings } from './config/schema.js';
import type { Dataplane } from './dataplane/dataplane.js';
import type { PluginFaults } from './faults.js';
import { HealthState } from './health.js';
import { withTimeout } from './lib/timeout.js';
import { createLogger, type Logger } from './log.js';
import { LoaderMetrics } from './metrics.js';
import { ModelManager } from './models/manager.js';
import { createPlane, loadOptions } from './plane.js';
import type { GrpcRemote } from './pipes/remote-grpc.js';
import { execConcurrency } from './config/schema.js';
import { ModelRecords } from './polaris/model-records.js';
import type { PluginRegistry } from './plugin/registry.js';
import type { InstanceRecord, Polaris } from '../polaris/store/types.js';
import { EtcdPolaris } from '../polaris/store/polaris-etcd.js';
import { parseHotConfig } from './config/hot.js';
import { HotConfig } from './config/hot-apply.js';
import { PolarisLink } from './polaris/link.js';
import { advertiseHost, instanceRecord, newInstanceId } from './polaris/advertise.js';
import { TlsFiles } from './lib/tls-files.js';
import { bindGrpc, createGrpcServer } from './server/grpc.js';
import { createHttpServer } from './server/http.js';

/** At start, how long the loader waits for its access keys from polaris before turning ready without them. */
const KEYS_WAIT_MS = 2_000;

/** After the drain, how long open gRPC streams (e.g. health watchers) get before being cut. */
export const GRPC_SHUTDOWN_GRACE_MS = 1_000;

export interface LoaderOptions {
  /** Log destination (default: stdout). */
  logDestination?: DestinationStream;
  /** Collect Node's default process metrics (default true). */
  defaultMetrics?: boolean;
  /**
   * Polaris to register in and follow config from, instead of the etcd one the [polaris] section
   * describes (tests pass a MemoryPolaris). The loader does not close an injected one.
   */
  polaris?: Polaris;
}

export class Loader {
  readonly log: Logger;
  readonly metrics: LoaderMetrics;
  readonly health = new HealthState();
  readonly registry: PluginRegistry;
  readonly dataplane: Dataplane;
  /** Where faults of plugin code outside any call are logged and counted (faults.ts). */
  readonly faults: PluginFaults;
  readonly #grpc: grpc.Server;
  readonly #http: FastifyInstance;
  /** `[server.tls]`'s files, served on both ports and followed as they change; absent: plaintext. */
  readonly #tls: TlsFiles | undefined;
  #grpcPort = 0;
  readonly #startedAt = new Date();
  #httpPort = 0;
  #stopping: Promise<void> | undefined;
  readonly #hot: HotConfig;
  /** AK/SK checks (`[auth] mode = "aksk"`). */
  readonly #auth: AkSkAuth | undefined;
  readonly #polaris: { polaris: Polaris; owned: boolean; link: PolarisLink } | undefined;
  /** Plugins' `ctx.infer` calls to other loaders (`via: 'polaris'` through this loader's polaris). */
  readonly #remote: GrpcRemote;
  /** This process's id in polaris. */
  readonly instanceId: string;
  /** `[repository]`'s models (docs/models.md); absent without one. */
  readonly models: ModelManager | undefined;
  /** Polaris records of the repository's models, one service each. */
  readonly #modelRecords: ModelRecords | undefined;
  /** The plugin's service, once loaded (none when the loader serves a model repository only). */
  #pluginService: string | undefined;

  constructor(
    readonly config: Readonly<LoaderConfig>,
    options: LoaderOptions = {},
  ) {
    this.log = createLogger(config.log.level, options.logDestination);
    const tls = config.server.tls;
    this.#tls =
      tls &&
      TlsFiles.load({ certFile: tls.cert_file, keyFile: tls.key_file, caFile: tls.client_ca_file }, { log: this.log, name: 'server' });
    const plane = createPlane(config, this.log, new LoaderMetrics({ defaultMetrics: options.defaultMetrics ?? true }));
    this.metrics = plane.metrics;
    this.registry = plane.registry;
    this.dataplane = plane.dataplane;
    this.faults = plane.faults;
    this.#remote = plane.remote;
    // A plugin set that cannot serve (every exec slot stuck, its process down) makes the loader not ready.
    this.registry.onReadiness((service, ready, reasons) => {
      if (ready) this.health.unblock(`plugin:${service}`);
      else this.health.block(`plugin:${service}`, reasons.join('; '));
    });
    const settings = config.polaris;
    this.instanceId = settings?.instance_id ?? newInstanceId();
    const registers = settings !== undefined || options.polaris !== undefined;
    const polaris = registers
      ? (options.polaris ?? new EtcdPolaris({ ...settings!, ttlS: settings!.ttl_s, validateConfig: parseHotConfig }))
      : undefined;
    this.#auth = config.auth.mode === 'aksk' ? new AkSkAuth(config.auth, this.#keySource(polaris), this.log, this.metrics.auth) : undefined;
    this.models =
      config.repository &&
      new ModelManager(config.repository, {
        registry: this.registry,
        log: this.log,
        initOptions: () => ({ config: {}, concurrency: execConcurrency(this.liveConfig), initTimeoutMs: config.plugin.init_timeout_ms }),
        drainGraceMs: () => this.liveConfig.limits.drain_grace_ms,
        finiTimeoutMs: config.plugin.fini_timeout_ms,
        reserved: () => (this.#pluginService === undefined ? [] : [this.#pluginService]),
        onServing: (name) => this.#modelRecords?.add(name),
        onGone: async (name) => this.#modelRecords?.remove(name),
      });
    const deps = {
      instanceId: registers ? this.instanceId : undefined,
      models: this.models,
      dataplane: this.dataplane,
      health: this.health,
      metrics: this.metrics,
      log: this.log,
      maxMessageBytes: config.limits.max_message_bytes,
      tls: this.#tls,
      auth: this.#auth,
      openMetrics: config.auth.open_metrics,
    };
    this.#grpc = createGrpcServer(deps);
    this.#http = createHttpServer({ ...deps, requestTimeoutMs: config.server.request_timeout_ms });

    this.#hot = new HotConfig(config, {
      log: this.log,
      dataplane: this.dataplane,
      registry: this.registry,
      loadOptions,
      service: () => this.#pluginService ?? this.registry.soleService() ?? '',
    });
    if (polaris !== undefined) {
      const where = settings?.endpoints.join(',') ?? 'injected';
      this.#polaris = { polaris, owned: options.polaris === undefined, link: new PolarisLink(polaris, this.#hot, this.log, where) };
      this.#remote.discovery = polaris.discovery;
      if (this.models !== undefined) this.#modelRecords = new ModelRecords(polaris, this.log, (service) => this.#record(service));
    }
  }

  /** Where `[auth] mode = "aksk"` finds its keys. */
  #keySource(polaris: Polaris | undefined): KeySource {
    const { keys_source, keys_file } = this.config.auth;
    if (keys_source === 'file') return new KeysFile(keys_file as string, this.log);
    if (polaris === undefined) throw new Error('[auth] keys_source = "polaris" needs a [polaris] section');
    return new PolarisKeys(polaris.keys, this.log);
  }

  /** The config in effect: the startup config with the last applied polaris config version over it. */
  get liveConfig(): Readonly<LoaderConfig> {
    return this.#hot.effective;
  }

  get grpcPort(): number {
    return this.#grpcPort;
  }

  get httpPort(): number {
    return this.#httpPort;
  }

  /**
   * Reads `[server.tls]`'s files again now (SIGHUP); also done by itself within a second of a change.
   * False when the new files were refused (logged) and the old ones stay; undefined without TLS.
   */
  reloadTls(): boolean | undefined {
    return this.#tls?.reload();
  }

  /**
   * Listens, loads and initialises the plugin, applies the service's current polaris config (when
   * polaris answers), turns ready, then registers. Throws if init fails; never because polaris is
   * unreachable (the loader then serves standalone and registers when it answers).
   */
  async start(): Promise<void> {
    if (this.config.plugin.path === undefined && this.models === undefined) {
      throw new Error('nothing to serve: give a plugin path (aiges serve <plugin>) or a model repository (--model-repository DIR)');
    }
    const { host, grpc_port, http_port } = this.config.server;
    this.#auth?.watch();
    this.#grpcPort = await bindGrpc(this.#grpc, host, grpc_port, this.#tls);
    await this.#http.listen({ host, port: http_port });
    const address = this.#http.server.address();
    this.#httpPort = typeof address === 'object' && address !== null ? address.port : http_port;
    this.log.info({ grpc_port: this.#grpcPort, http_port: this.#httpPort, host, tls: this.#tls !== undefined }, 'listening');

    if (this.config.plugin.path !== undefined) this.#pluginService = (await this.registry.load(loadOptions(this.config))).service;
    // NOTE: a model that fails to load is in the index with its reason; it never stops the start.
    await this.models?.start();
    await this.#keysLoaded();
    const polaris = this.#polaris;
    const service = this.config.polaris?.service ?? this.#pluginService;
    if (polaris !== undefined && service !== undefined) await polaris.link.prepare(service, this.instanceId);
    this.health.set('serving');
    this.log.info({ service: this.#pluginService, models: this.models?.serving(), capacity: this.liveConfig.limits.capacity }, 'ready');
    if (polaris === undefined) return;
    if (service !== undefined) await polaris.link.register(this.#record(service));
    this.#modelRecords?.open(this.models?.serving() ?? []);
  }

  /** This loader's polaris record as an instance of `service`. */
  #record(service: string): InstanceRecord {
    const settings: Pick<PolarisSettings, 'service_version' | 'labels' | 'advertise_host'> = this.config.polaris ?? {
      service_version: '1',
      labels: {},
    };
    return instanceRecord({
      id: this.instanceId,
      service,
      version: settings.service_version,
      host: advertiseHost(this.config.server.host, settings.advertise_host),
      grpcPort: this.#grpcPort,
      httpPort: this.#httpPort,
      capacity: this.liveConfig.limits.capacity,
      labels: settings.labels,
      tls: this.#tls !== undefined,
      startedAt: this.#startedAt,
    });
  }

  /** Waits a moment for the first access keys (polaris); without them every signed call is refused. */
  async #keysLoaded(): Promise<void> {
    if (this.#auth === undefined) return;
    await withTimeout(this.#auth.keys.loaded, KEYS_WAIT_MS, () => new Error('no answer')).catch(() =>
      this.log.warn({ wait_ms: KEYS_WAIT_MS }, 'no access keys from polaris yet: signed calls are refused until it answers'),
    );
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
    const grace = this.liveConfig.limits.drain_grace_ms;
    this.health.set('draining');
    // Deregister before draining: balancers stop sending here while in-flight calls finish.
    await Promise.all([this.#polaris?.link.deregister(), this.#modelRecords?.close()]);
    this.log.info({ inflight: this.dataplane.admission.inUse, grace_ms: grace }, 'draining');
    const drained = await this.dataplane.drain(grace);
    if (!drained) this.log.warn({ left: this.dataplane.admission.inUse }, 'grace period over; cancelled what was left');
    await this.#polaris?.link.close();
    await this.models?.close();
    await this.registry.retireAll(drained ? grace : 1_000, this.config.plugin.fini_timeout_ms);
    this.#remote.close();
    this.health.set('stopped');
    await Promise.all([this.#http.close(), this.#shutdownGrpc(), this.#polaris?.owned ? this.#polaris.polaris.close() : undefined]);
    this.#tls?.close();
    this.#auth?.close();
    this.log.info('stopped');
    await new Promise<void>((resolve) => this.log.flush(() => resolve()));
  }
}
