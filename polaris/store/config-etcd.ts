/**
 * Config center on etcd (layout in types.ts). Pushes allocate the next version number in a
 * transaction that fails if another push took it first (then it tries the next number). Status keys
 * go under the reporting instance's lease (LeasePool), so they vanish with the instance.
 *
 * A watch follows two keys — `current` and the instance's override — and on every change (and on
 * every reconnect) reads which version the instance should run; it calls back only when that
 * version differs from the last one it handed over.
 */
import type { Etcd3 } from 'etcd3';
import type { ApplyStatus, ConfigCenter, ConfigValidator, ConfigVersion, Watcher } from './types.js';
import { checkName, configKeys } from './keys.js';
import type { LeasePool } from './lease-etcd.js';
import { EtcdWatch } from './watch-etcd.js';

const PUSH_ATTEMPTS = 10;

function versionNumber(text: string | null): number | undefined {
  if (text === null) return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export class EtcdConfigCenter implements ConfigCenter {
  readonly #watches = new Set<Watcher>();

  /** `leases`: the instances registered through this client (needed to report status only). */
  constructor(
    private readonly client: Etcd3,
    private readonly leases?: LeasePool,
    private readonly validate: ConfigValidator = () => undefined,
  ) {}

  async push(service: string, toml: string, options: { instance?: string; note?: string } = {}): Promise<ConfigVersion> {
    checkName('service', service);
    this.validate(toml);
    const { instance, note = '' } = options;
    for (let attempt = 0; attempt < PUSH_ATTEMPTS; attempt++) {
      const n = (await this.#lastVersion(service)) + 1;
      const version: ConfigVersion = { service, version: n, toml, createdAt: new Date().toISOString(), note };
      if (instance !== undefined) version.instance = instance;
      const point =
        instance === undefined
          ? [
              this.client.put(configKeys.current(service)).value(String(n)),
              this.client.delete().prefix(configKeys.overridesPrefix(service)),
            ]
          : [this.client.put(configKeys.override(service, instance)).value(String(n))];
      const res = await this.client
        .if(configKeys.version(service, n), 'Create', '==', 0)
        .then(this.client.put(configKeys.version(service, n)).value(JSON.stringify(version)), ...point)
        .commit();
      if (res.succeeded) return version;
    }
    throw new Error(`could not store a new config version of ${service}: ${PUSH_ATTEMPTS} concurrent pushes got there first`);
  }

  async get(service: string, options: { version?: number; instance?: string } = {}): Promise<ConfigVersion | undefined> {
    const n = options.version ?? (await this.#target(service, options.instance));
    if (n === undefined) return undefined;
    const text = await this.client.get(configKeys.version(service, n)).string();
    return text === null ? undefined : (JSON.parse(text) as ConfigVersion);
  }

  async history(service: string): Promise<ConfigVersion[]> {
    const values = await this.client.getAll().prefix(configKeys.versionsPrefix(service)).strings();
    return Object.values(values)
      .map((v) => JSON.parse(v) as ConfigVersion)
      .sort((a, b) => a.version - b.version);
  }

  async rollback(service: string, version: number): Promise<void> {
    const res = await this.client
      .if(configKeys.version(service, version), 'Create', '>', 0)
      .then(
        this.client.put(configKeys.current(service)).value(String(version)),
        this.client.delete().prefix(configKeys.overridesPrefix(service)),
      )
      .commit();
    if (!res.succeeded) throw new Error(`service ${service} has no config version ${version}`);
  }

  async reportStatus(service: string, status: ApplyStatus): Promise<void> {
    const keeper = this.leases?.get(status.instance);
    if (keeper === undefined) {
      throw new Error(`instance "${status.instance}" is not registered through this client: its status lives under its lease`);
    }
    await keeper.set(configKeys.status(service, status.instance), JSON.stringify(status));
  }

  async status(service: string): Promise<ApplyStatus[]> {
    const values = await this.client.getAll().prefix(configKeys.statusPrefix(service)).strings();
    return Object.values(values)
      .map((v) => JSON.parse(v) as ApplyStatus)
      .sort((a, b) => a.instance.localeCompare(b.instance));
  }

  async watch(service: string, instance: string, onConfig: (config: ConfigVersion | undefined) => void): Promise<Watcher> {
    checkName('instance id', instance);
    let delivered: number | undefined | null = null; // null: nothing handed over yet
    let running: Promise<void> | undefined;
    let again = false;
    let closed = false;
    // Serialised and coalesced: one read at a time, one more if something changed meanwhile.
    const refresh = (): void => {
      if (running !== undefined) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          try {
            const config = await this.get(service, { instance });
            if (closed || config?.version === delivered) continue;
            delivered = config?.version;
            onConfig(config);
          } catch {
            // etcd went away: the watch reconnects and refreshes again; a read that failed on a
            // live connection is tried again shortly.
            setTimeout(() => !closed && refresh(), 500).unref();
          }
        } while (again && !closed);
        running = undefined;
      })();
    };
    const watch = new EtcdWatch(this.client, [{ key: configKeys.current(service) }, { key: configKeys.override(service, instance) }], {
      onConnect: refresh,
      onEvent: refresh,
    });
    const watcher: Watcher = {
      close: () => {
        closed = true;
        this.#watches.delete(watcher);
        void watch.close();
      },
    };
    this.#watches.add(watcher);
    return watcher;
  }

  async close(): Promise<void> {
    for (const watcher of [...this.#watches]) watcher.close();
  }

  /** The version `instance` should run (its override, else current), or every instance without one. */
  async #target(service: string, instance: string | undefined): Promise<number | undefined> {
    if (instance !== undefined) {
      const override = versionNumber(await this.client.get(configKeys.override(service, instance)).string());
      if (override !== undefined) return override;
    }
    return versionNumber(await this.client.get(configKeys.current(service)).string());
  }

  async #lastVersion(service: string): Promise<number> {
    const keys = await this.client.getAll().prefix(configKeys.versionsPrefix(service)).keys();
    const prefix = configKeys.versionsPrefix(service);
    return keys.reduce((max, key) => Math.max(max, versionNumber(key.slice(prefix.length)) ?? 0), 0);
  }
}
