/**
 * A loader's link to polaris: the registration and the config it follows. The loader calls, in its
 * lifecycle order (docs/architecture.md):
 *   start: listen → init → `prepare` (apply the service's current config version) → ready → `register`
 *   stop:  not ready → `deregister` → drain → `close` (an apply in progress, retired plugin sets) → fini
 * etcd being down never stops the loader: it serves standalone with a warning, and registers and
 * picks up its config when etcd answers (the registry and the config watch retry by themselves).
 *
 * Config versions are applied one at a time; while one applies, only the newest of those arriving
 * is kept. Each version's outcome is reported (`reportStatus`): the version and ok, or the error,
 * and the version in effect after it. A version on trial (a rollout) is then settled
 * (`ConfigCenter.settle`): the instance whose report completes the picture decides it, so a push is
 * decided even when the pushing CLI went away; a timer at the trial's deadline decides it when some
 * instance never reports.
 */
import type { ApplyStatus, ConfigVersion, InstanceRecord, Polaris, Registration, Watcher } from '../../polaris/store/types.js';
import { withTimeout } from '../lib/timeout.js';
import type { Logger } from '../log.js';
import type { HotConfig } from '../config/hot-apply.js';
import { isRefusal } from '../../polaris/store/etcd-errors.js';

/** How long `prepare` waits for etcd before starting with the startup config. */
const PREPARE_TIMEOUT_MS = 2_000;
/** How long `deregister` waits for etcd. */
const DEREGISTER_TIMEOUT_MS = 2_000;
/** After a trial's deadline, how long to wait before settling it (reports written at the deadline count). */
const SETTLE_AFTER_DEADLINE_MS = 100;

const NONE = Symbol('none');

export class PolarisLink {
  #registration: Registration | undefined;
  #watcher: Watcher | undefined;
  #pending: ConfigVersion | undefined | typeof NONE = NONE;
  #applying: Promise<void> | undefined;
  /** The version last tried (undefined: none, i.e. the startup config); null before any. */
  #tried: number | undefined | null = null;
  #status: ApplyStatus | undefined;
  /** The version in effect (undefined: the startup config). */
  #running: number | undefined;
  #service: string | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
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
    this.#service = service;
    let config: ConfigVersion | undefined;
    try {
      config = await withTimeout(
        this.polaris.config.get(service, { instance }),
        PREPARE_TIMEOUT_MS,
        () => new Error(`polaris: no answer within ${PREPARE_TIMEOUT_MS} ms`),
      );
    } catch (err) {
      this.#warnedStandalone = true;
      if (isRefusal(err))
        this.log.error({ err, polaris: this.where }, 'polaris refused to show the config: serving with the startup config');
      else
        this.log.warn(
          { err, polaris: this.where },
          'polaris unreachable: serving standalone with the startup config; will register and follow config when it answers',
        );
      return;
    }
    if (config === undefined) return;
    await this.#apply(config);
    const failed = this.#status;
    if (failed?.ok !== false || config.state !== 'trial') return;
    // A version on trial that does not apply here: start on the service's current good version
    // instead (the trial's failure is still what this instance reports).
    const current = await withTimeout(
      this.polaris.config.current(service),
      PREPARE_TIMEOUT_MS,
      () => new Error('polaris: no answer'),
    ).catch(() => undefined);
    if (current === undefined || current.version === config.version) return;
    await this.#apply(current);
    if (this.#status?.ok) this.#status = { ...failed, running: current.version };
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
    this.#service = record.service;
    const context = { service: record.service, instance: record.id, address: record.address, polaris: this.where };
    if (registration.state === 'registered') this.log.info(context, 'registered in polaris');
    else if (isRefusal(registration.error)) {
      // Wrong credentials or a role that does not cover this instance: say so, whatever prepare saw.
      this.log.error({ ...context, err: registration.error }, 'polaris refused the registration: serving standalone; trying again');
    } else if (!this.#warnedStandalone) {
      this.log.warn({ ...context, err: registration.error }, 'polaris unreachable: serving standalone; will register when it answers');
    }
    registration.onState((state, error) => {
      if (state === 'registered') {
        this.log.info(context, 'registered in polaris');
        void this.#report(); // re-sent: a status written under a lost lease is gone
      } else if (state === 'pending') {
        if (isRefusal(error))
          this.log.error({ ...context, err: error }, 'polaris refused the registration: serving standalone; trying again');
        else this.log.warn({ ...context, err: error }, 'polaris registration lost; registering again');
      }
    });
    if (this.#status !== undefined) {
      // A version applied before registering (at startup) is reported now, and its trial settled.
      await this.#report();
      void this.#settle();
    }
    this.#watcher = await this.polaris.config.watch(record.service, record.id, (config) => this.#offer(config));
  }

  /** First step of a stop: the record goes (balancers stop sending), config is no longer followed. */
  async deregister(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#deadlineTimer);
    this.#watcher?.close();
    this.hot.close();
    const registration = this.#registration;
    if (registration === undefined) return;
    const inPlace = registration.state === 'registered';
    try {
      await withTimeout(
        registration.deregister(),
        DEREGISTER_TIMEOUT_MS,
        () => new Error(`polaris deregister: no answer within ${DEREGISTER_TIMEOUT_MS} ms`),
      );
      this.log.info(
        { instance: registration.record.id },
        inPlace ? 'deregistered from polaris' : 'stopped registering in polaris (the registration was not in place)',
      );
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
    // Pointed back at what already runs (a trial that failed here): nothing to apply, and the
    // failed try stays what this instance reports.
    if (config !== undefined && config.version === this.#running && this.#status !== undefined) return;
    const started = performance.now();
    const result = await this.hot.apply(config?.toml);
    const ms = Math.round(performance.now() - started);
    if (result.ok) this.#running = config?.version;
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
      ...(this.#running === undefined ? {} : { running: this.#running }),
      appliedAt: new Date().toISOString(),
    };
    await this.#report();
    if (config.state === 'trial') this.#settleAt(config.deadline);
  }

  /** Settles the service's trials now, and again at a trial's deadline (for instances that never report). */
  #settleAt(deadline: string | undefined): void {
    void this.#settle();
    if (deadline === undefined) return;
    clearTimeout(this.#deadlineTimer);
    const ms = Math.max(0, Date.parse(deadline) - Date.now()) + SETTLE_AFTER_DEADLINE_MS;
    this.#deadlineTimer = setTimeout(() => void this.#settle(), ms);
    this.#deadlineTimer.unref();
  }

  async #settle(): Promise<void> {
    const service = this.#service;
    if (service === undefined || this.#stopped || this.#registration?.state !== 'registered') return;
    try {
      const live = (await this.polaris.discovery.list(service)).map((r) => r.id);
      await this.polaris.config.settle(service, live);
    } catch (err) {
      this.log.debug({ err }, 'could not settle the config rollout (the pusher or another instance will)');
    }
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
