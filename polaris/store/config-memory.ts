/**
 * Config center in memory (unit tests): the etcd config center's contract over the memory store —
 * same validation, numbering, rollouts (rollout.ts), gray overrides, rollback, status under the
 * instance's registration.
 */
import type { ApplyStatus, ConfigCenter, ConfigValidator, ConfigVersion, Watcher } from './types.js';
import { checkName, registrationKey } from './keys.js';
import { decided, judge, ROLLOUT_TIMEOUT_MS, runnable } from './rollout.js';
import type { MemoryStore, ServiceConfig } from './store-memory.js';

export class MemoryConfigCenter implements ConfigCenter {
  readonly #watchers = new Set<Watcher>();

  constructor(
    private readonly store: MemoryStore,
    private readonly validate: ConfigValidator = () => undefined,
  ) {}

  async push(
    service: string,
    toml: string,
    options: { instance?: string; note?: string; timeoutMs?: number } = {},
  ): Promise<ConfigVersion> {
    checkName('service', service);
    if (options.instance !== undefined) checkName('instance id', options.instance);
    this.validate(toml);
    this.store.check();
    const config = this.store.config(service);
    const now = Date.now();
    const version: ConfigVersion = {
      service,
      version: config.versions.length + 1,
      toml,
      createdAt: new Date(now).toISOString(),
      note: options.note ?? '',
      state: 'trial',
      deadline: new Date(now + (options.timeoutMs ?? ROLLOUT_TIMEOUT_MS)).toISOString(),
    };
    if (options.instance !== undefined) version.instance = options.instance;
    config.versions.push(version);
    if (options.instance === undefined) {
      const previous = config.trial === undefined ? undefined : config.versions[config.trial - 1];
      if (previous?.state === 'trial') {
        this.#replace(config, decided(previous, { decided: true, ok: false, reason: `superseded by version ${version.version}` }));
      }
      config.trial = version.version;
      config.overrides.clear();
    } else {
      config.overrides.set(options.instance, version.version);
    }
    this.store.emit('config', service);
    return version;
  }

  async settle(service: string, live: readonly string[]): Promise<void> {
    this.store.check();
    const config = this.store.config(service);
    const now = Date.now();
    const statuses = [...config.status.values()];
    const trial = config.trial === undefined ? undefined : config.versions[config.trial - 1];
    if (trial?.state === 'trial') {
      const verdict = judge(trial, live, statuses, now);
      if (verdict.decided) {
        this.#replace(config, decided(trial, verdict, live, statuses));
        config.trial = undefined;
        if (verdict.ok) config.current = trial.version;
        this.store.emit('config', service);
      }
    }
    for (const [id, n] of [...config.overrides]) {
      const gray = config.versions[n - 1];
      if (gray?.state !== 'trial') continue;
      const triedOn = live.includes(id) ? [id] : [];
      const verdict = judge(gray, triedOn, statuses, now);
      if (!verdict.decided) continue;
      this.#replace(config, decided(gray, verdict, triedOn, statuses));
      if (!verdict.ok) config.overrides.delete(id);
      this.store.emit('config', service);
    }
  }

  async get(service: string, options: { version?: number; instance?: string } = {}): Promise<ConfigVersion | undefined> {
    this.store.check();
    return this.#get(service, options);
  }

  async current(service: string): Promise<ConfigVersion | undefined> {
    this.store.check();
    const config = this.store.config(service);
    const current = config.current === undefined ? undefined : config.versions[config.current - 1];
    return runnable(current) ? current : undefined;
  }

  async history(service: string): Promise<ConfigVersion[]> {
    this.store.check();
    return [...this.store.config(service).versions];
  }

  async rollback(service: string, version: number): Promise<void> {
    this.store.check();
    const config = this.store.config(service);
    const target = config.versions[version - 1];
    if (target === undefined) throw new Error(`service ${service} has no config version ${version}`);
    if (target.state === 'failed')
      throw new Error(`config version ${version} of ${service} failed (${target.failure ?? ''}): it is never run again`);
    const trial = config.trial === undefined ? undefined : config.versions[config.trial - 1];
    if (trial?.state === 'trial' && trial.version !== version) {
      this.#replace(config, decided(trial, { decided: true, ok: false, reason: `rolled back to version ${version}` }));
    }
    if (target.state === 'trial') this.#replace(config, decided(target, { decided: true, ok: true }));
    config.current = version;
    config.trial = undefined;
    config.overrides.clear();
    this.store.emit('config', service);
  }

  async reportStatus(service: string, status: ApplyStatus): Promise<void> {
    const lease = this.store.leases.get(registrationKey(service, status.instance));
    if (lease === undefined) {
      throw new Error(`instance "${status.instance}" is not registered through this store: its status lives under its lease`);
    }
    lease.setStatus(service, status);
  }

  async status(service: string): Promise<ApplyStatus[]> {
    this.store.check();
    return [...this.store.config(service).status.values()].sort((a, b) => a.instance.localeCompare(b.instance));
  }

  async watch(service: string, instance: string, onConfig: (config: ConfigVersion | undefined) => void): Promise<Watcher> {
    let delivered: number | undefined | null = null;
    const refresh = (changed?: string) => {
      if ((changed !== undefined && changed !== service) || !this.store.available) return;
      const config = this.#get(service, { instance });
      if (config?.version === delivered) return;
      delivered = config?.version;
      onConfig(config);
    };
    const onAvailable = () => refresh();
    this.store.on('config', refresh);
    this.store.on('available', onAvailable);
    queueMicrotask(() => refresh());
    const watcher: Watcher = {
      close: () => {
        this.store.off('config', refresh);
        this.store.off('available', onAvailable);
        this.#watchers.delete(watcher);
      },
    };
    this.#watchers.add(watcher);
    return watcher;
  }

  async close(): Promise<void> {
    for (const watcher of [...this.#watchers]) watcher.close();
  }

  #get(service: string, options: { version?: number; instance?: string }): ConfigVersion | undefined {
    const config = this.store.config(service);
    const at = (n: number | undefined) => (n === undefined ? undefined : config.versions[n - 1]);
    if (options.version !== undefined) return at(options.version);
    const override = options.instance === undefined ? undefined : at(config.overrides.get(options.instance));
    if (runnable(override)) return override;
    const trial = at(config.trial);
    if (runnable(trial)) return trial;
    const current = at(config.current);
    return runnable(current) ? current : undefined;
  }

  /** Stores a version's new state (its text never changes). */
  #replace(config: ServiceConfig, version: ConfigVersion): void {
    config.versions[version.version - 1] = version;
  }
}
