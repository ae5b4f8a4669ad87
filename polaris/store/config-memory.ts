/**
 * Config center in memory (unit tests): the etcd config center's contract over the memory store —
 * same validation, numbering, gray overrides, rollback, status under the instance's registration.
 */
import type { ApplyStatus, ConfigCenter, ConfigValidator, ConfigVersion, Watcher } from './types.js';
import { checkName } from './keys.js';
import type { MemoryStore } from './store-memory.js';

export class MemoryConfigCenter implements ConfigCenter {
  readonly #watchers = new Set<Watcher>();

  constructor(
    private readonly store: MemoryStore,
    private readonly validate: ConfigValidator = () => undefined,
  ) {}

  async push(service: string, toml: string, options: { instance?: string; note?: string } = {}): Promise<ConfigVersion> {
    checkName('service', service);
    if (options.instance !== undefined) checkName('instance id', options.instance);
    this.validate(toml);
    this.store.check();
    const config = this.store.config(service);
    const version: ConfigVersion = {
      service,
      version: config.versions.length + 1,
      toml,
      createdAt: new Date().toISOString(),
      note: options.note ?? '',
    };
    if (options.instance !== undefined) version.instance = options.instance;
    config.versions.push(version);
    if (options.instance === undefined) {
      config.current = version.version;
      config.overrides.clear();
    } else {
      config.overrides.set(options.instance, version.version);
    }
    this.store.emit('config', service);
    return version;
  }

  async get(service: string, options: { version?: number; instance?: string } = {}): Promise<ConfigVersion | undefined> {
    this.store.check();
    return this.#get(service, options);
  }

  async history(service: string): Promise<ConfigVersion[]> {
    this.store.check();
    return [...this.store.config(service).versions];
  }

  async rollback(service: string, version: number): Promise<void> {
    this.store.check();
    const config = this.store.config(service);
    if (config.versions[version - 1] === undefined) throw new Error(`service ${service} has no config version ${version}`);
    config.current = version;
    config.overrides.clear();
    this.store.emit('config', service);
  }

  async reportStatus(service: string, status: ApplyStatus): Promise<void> {
    const lease = this.store.leases.get(status.instance);
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
    const n = options.version ?? (options.instance === undefined ? undefined : config.overrides.get(options.instance)) ?? config.current;
    return n === undefined ? undefined : config.versions[n - 1];
  }
}
