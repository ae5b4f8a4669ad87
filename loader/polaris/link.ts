/**
 * A loader's link to polaris: the registration and the config it follows. The loader calls, in its
 * lifecycle order (docs/architecture.md):
 *   start: listen → init → `prepare` (apply the service's current config version) → ready → `register`
 *   stop:  not ready → `deregister` → drain → `close` (an apply in progress, retired plugin sets) → fini
 * etcd being down never stops the loader: it serves standalone with a warning, and registers and
 * picks up its config when etcd answers (the registry and the config watch retry by themselves).
 *
 * Config versions are applied one at a time; while one applies, only the newest of those arriving
 * is kept. Each version's outcome is reported (`reportStatus`): the version and ok, or the error.
 */
import type { ApplyStatus, ConfigVersion, InstanceRecord, Polaris, Registration, Watcher } from '../../polaris/store/types.js';
import type { Logger } from '../log.js';
import type { HotConfig } from '../config/hot-apply.js';

/** How long `prepare` waits for etcd before starting with the startup config. */
const PREPARE_TIMEOUT_MS = 2_000;
/** How long `deregister` waits for etcd. */
const DEREGISTER_TIMEOUT_MS = 2_000;

const NONE = Symbol('none');

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class PolarisLink {
  #registration: Registration | undefined;
  #watcher: Watcher | undefined;
  #pending: ConfigVersion | undefined | typeof NONE = NONE;
  #applying: Promise<void> | undefined;
  /** The version last tried (undefined: none, i.e. the startup config); null before any. */
  #tried: number | undefined | null = null;
  #status: ApplyStatus | undefined;
  #warnedStandalone = false;
  #stopped = false;

  constructor(
    private readonly polaris: Polaris,
    private readonly hot: HotConfig,
    private readonly log: Logger,
    /** Where the store is, for messages. */
    private readonly where: string,
  ) {}

  /** Applies the service's current config version before the loader turns ready, if etcd answers soon. */
  async prepare(service: string, instance: string): Promise<void> {
    let config: ConfigVersion | undefined;
    try {
      config = await withTimeout(this.polaris.config.get(service, { instance }), PREPARE_TIMEOUT_MS, 'polaris');
    } catch (err) {
      this.#warnedStandalone = true;
      this.log.warn(
        { err, polaris: this.where },
        'polaris unreachable: serving standalone with the startup config; will register and follow config when it answers',
      );
      return;
    }
    if (config !== undefined) await this.#apply(config);
  }

  /** Registers and follows the service's config; resolves even when etcd is down (registration pending). */
  async register(record: InstanceRecord): Promise<void> {
    const registration = await this.polaris.registry.register(record);
    if (this.#stopped) {
      // The loader began stopping while this registration was being written.
      await registration.deregister();
      return;
    }
    this.#registration = registration;
    const context = { service: record.service, instance: record.id, address: record.address, polaris: this.where };
    if (registration.state === 'registered') this.log.info(context, 'registered in polaris');
    else if (!this.#warnedStandalone) {
      this.log.warn({ ...context, err: registration.error }, 'polaris unreachable: serving standalone; will register when it answers');
    }
    registration.onState((state, error) => {
      if (state === 'registered') {
        this.log.info(context, 'registered in polaris');
        void this.#report(); // re-sent: a status written under a lost lease is gone
      } else if (state === 'pending') this.log.warn({ ...context, err: error }, 'polaris registration lost; registering again');
    });
    if (this.#status !== undefined) await this.#report();
    this.#watcher = await this.polaris.config.watch(record.service, record.id, (config) => this.#offer(config));
  }

  /** First step of a stop: the record goes (balancers stop sending), config is no longer followed. */
  async deregister(): Promise<void> {
    this.#stopped = true;
    this.#watcher?.close();
    this.hot.close();
    const registration = this.#registration;
    if (registration === undefined) return;
    try {
      await withTimeout(registration.deregister(), DEREGISTER_TIMEOUT_MS, 'polaris deregister');
      this.log.info({ instance: registration.record.id }, 'deregistered from polaris');
    } catch (err) {
      this.log.warn({ err }, 'could not deregister from polaris; the record expires with its lease');
    }
  }

  /** After the drain: waits for an apply in progress and for retired plugin sets to be finalised. */
  async close(): Promise<void> {
    await this.#applying;
    await this.hot.settled();
  }

  #offer(config: ConfigVersion | undefined): void {
    if (this.#stopped) return;
    this.#pending = config;
    this.#applying ??= (async () => {
      while (this.#pending !== NONE && !this.#stopped) {
        const next: ConfigVersion | undefined = this.#pending;
        this.#pending = NONE;
        await this.#apply(next);
      }
      this.#applying = undefined;
    })();
  }

  async #apply(config: ConfigVersion | undefined): Promise<void> {
    if (config?.version === this.#tried) return;
    this.#tried = config?.version;
    const started = performance.now();
    const result = await this.hot.apply(config?.toml);
    const ms = Math.round(performance.now() - started);
    if (config === undefined) {
      if (result.ok && result.changed.length > 0)
        this.log.info({ changed: result.changed }, 'config version withdrawn: back to the startup config');
      return;
    }
    if (result.ok) {
      this.log.info({ version: config.version, changed: result.changed, ms }, 'config version applied');
      if (result.changed.includes('limits')) {
        await this.#registration?.update({ capacity: this.hot.effective.limits.capacity }).catch(() => undefined);
      }
    } else {
      this.log.error({ version: config.version, error: result.error, ms }, 'config version not applied');
    }
    this.#status = {
      instance: '',
      version: config.version,
      ok: result.ok,
      ...(result.ok ? {} : { error: result.error }),
      appliedAt: new Date().toISOString(),
    };
    await this.#report();
  }

  async #report(): Promise<void> {
    const registration = this.#registration;
    if (registration === undefined || this.#status === undefined) return;
    const status = { ...this.#status, instance: registration.record.id };
    try {
      await this.polaris.config.reportStatus(registration.record.service, status);
    } catch (err) {
      this.log.warn({ err }, 'could not report config status to polaris');
    }
  }
}
