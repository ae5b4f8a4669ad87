/**
 * Config center on etcd (layout in types.ts). Pushes allocate the next version number in a
 * transaction that fails if another push took it first (then it tries the next number). Status keys
 * go under the reporting instance's lease (LeasePool), so they vanish with the instance.
 *
 * A push stores the version as a trial and points the instances at it (the `trial` key, or the
 * instance's override) in one transaction; `settle` decides each trial (rollout.ts) and applies the
 * verdict in a transaction that holds only while the trial is still the one it judged, so two
 * parties settling at once decide it once.
 *
 * A watch follows three keys — `current`, `trial` and the instance's override — and on every change
 * (and on every reconnect) reads which version the instance should run; it calls back only when that
 * version differs from the last one it handed over.
 */
import type { Etcd3 } from 'etcd3';
import type { ApplyStatus, ConfigCenter, ConfigValidator, ConfigVersion, Watcher } from './types.js';
import { checkName, configKeys, registrationKey } from './keys.js';
import { decided, judge, ROLLOUT_TIMEOUT_MS, runnable } from './rollout.js';
import type { LeasePool } from './lease-etcd.js';
import { EtcdWatch } from './watch-etcd.js';
import { refusedAs } from './etcd-errors.js';

const PUSH_ATTEMPTS = 10;

/** One operation of a transaction. */
type Op = ReturnType<Etcd3['put']> | ReturnType<Etcd3['delete']>;

function versionNumber(text: string | null): number | undefined {
  if (text === null) return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export class EtcdConfigCenter implements ConfigCenter {
  readonly #watches = new Set<Watcher>();

  /**
   * `leases`: the instances registered through this client (needed to report status only); `user`:
   * the etcd user the client authenticates as, named when etcd refuses a call (etcd-errors.ts).
   */
  constructor(
    private readonly client: Etcd3,
    private readonly leases?: LeasePool,
    private readonly validate: ConfigValidator = () => undefined,
    private readonly user?: string,
  ) {}

  /** Runs one public operation, naming what it needed when etcd refuses it. */
  #as<T>(access: 'read' | 'read and write', service: string, what: string, call: () => Promise<T>): Promise<T> {
    return refusedAs(this.user, `${access} ${configKeys.prefix(service)}, to ${what}`, call);
  }

  async push(
    service: string,
    toml: string,
    options: { instance?: string; note?: string; timeoutMs?: number } = {},
  ): Promise<ConfigVersion> {
    return this.#as('read and write', checkName('service', service), 'push config', () => this.#push(service, toml, options));
  }

  async #push(service: string, toml: string, options: { instance?: string; note?: string; timeoutMs?: number }): Promise<ConfigVersion> {
    if (options.instance !== undefined) checkName('instance id', options.instance);
    this.validate(toml);
    const { instance, note = '', timeoutMs = ROLLOUT_TIMEOUT_MS } = options;
    for (let attempt = 0; attempt < PUSH_ATTEMPTS; attempt++) {
      const n = (await this.#lastVersion(service)) + 1;
      const now = Date.now();
      const version: ConfigVersion = {
        service,
        version: n,
        toml,
        createdAt: new Date(now).toISOString(),
        note,
        state: 'trial',
        deadline: new Date(now + timeoutMs).toISOString(),
      };
      if (instance !== undefined) version.instance = instance;
      const ops: Op[] = [this.client.put(configKeys.version(service, n)).value(JSON.stringify(version))];
      if (instance === undefined) {
        // A trial still running is superseded: it fails, and this one is tried instead.
        const previous = await this.#trialVersion(service);
        if (previous !== undefined && previous.state === 'trial') {
          const superseded = decided(previous, { decided: true, ok: false, reason: `superseded by version ${n}` });
          ops.push(this.client.put(configKeys.version(service, previous.version)).value(JSON.stringify(superseded)));
        }
        ops.push(
          this.client.put(configKeys.trial(service)).value(String(n)),
          this.client.delete().prefix(configKeys.overridesPrefix(service)),
        );
      } else {
        ops.push(this.client.put(configKeys.override(service, instance)).value(String(n)));
      }
      const res = await this.client
        .if(configKeys.version(service, n), 'Create', '==', 0)
        .then(...ops)
        .commit();
      if (res.succeeded) return version;
    }
    throw new Error(`could not store a new config version of ${service}: ${PUSH_ATTEMPTS} concurrent pushes got there first`);
  }

  async settle(service: string, live: readonly string[]): Promise<void> {
    return this.#as('read and write', checkName('service', service), 'settle a config rollout', () => this.#settle(service, live));
  }

  async #settle(service: string, live: readonly string[]): Promise<void> {
    const now = Date.now();
    const statuses = await this.status(service);
    const trialText = await this.client.get(configKeys.trial(service)).string();
    const trial = await this.#version(service, versionNumber(trialText));
    if (trial?.state === 'trial' && trialText !== null) {
      const verdict = judge(trial, live, statuses, now);
      if (verdict.decided) {
        const ops: Op[] = [
          this.client.put(configKeys.version(service, trial.version)).value(JSON.stringify(decided(trial, verdict, live, statuses))),
          this.client.delete().key(configKeys.trial(service)),
        ];
        if (verdict.ok) ops.push(this.client.put(configKeys.current(service)).value(String(trial.version)));
        await this.client
          .if(configKeys.trial(service), 'Value', '==', trialText)
          .then(...ops)
          .commit();
      }
    }
    const overrides = await this.client.getAll().prefix(configKeys.overridesPrefix(service)).strings();
    for (const [key, text] of Object.entries(overrides)) {
      const id = key.slice(configKeys.overridesPrefix(service).length);
      const gray = await this.#version(service, versionNumber(text));
      if (gray?.state !== 'trial') continue;
      const triedOn = live.includes(id) ? [id] : [];
      const verdict = judge(gray, triedOn, statuses, now);
      if (!verdict.decided) continue;
      const ops: Op[] = [
        this.client.put(configKeys.version(service, gray.version)).value(JSON.stringify(decided(gray, verdict, triedOn, statuses))),
      ];
      // A failed gray version is taken away: the instance goes back to what the others run.
      if (!verdict.ok) ops.push(this.client.delete().key(configKeys.override(service, id)));
      await this.client
        .if(configKeys.override(service, id), 'Value', '==', text)
        .then(...ops)
        .commit();
    }
  }

  async get(service: string, options: { version?: number; instance?: string } = {}): Promise<ConfigVersion | undefined> {
    return this.#as('read', checkName('service', service), 'read config', () =>
      options.version !== undefined ? this.#version(service, options.version) : this.#target(service, options.instance),
    );
  }

  async current(service: string): Promise<ConfigVersion | undefined> {
    return this.#as('read', checkName('service', service), 'read config', async () => {
      const current = await this.#version(service, versionNumber(await this.client.get(configKeys.current(service)).string()));
      return runnable(current) ? current : undefined;
    });
  }

  async history(service: string): Promise<ConfigVersion[]> {
    return this.#as('read', checkName('service', service), 'read config history', () => this.#history(service));
  }

  async #history(service: string): Promise<ConfigVersion[]> {
    const values = await this.client.getAll().prefix(configKeys.versionsPrefix(service)).strings();
    return Object.values(values)
      .map((v) => JSON.parse(v) as ConfigVersion)
      .sort((a, b) => a.version - b.version);
  }

  async rollback(service: string, version: number): Promise<void> {
    return this.#as('read and write', checkName('service', service), 'roll config back', () => this.#rollback(service, version));
  }

  async #rollback(service: string, version: number): Promise<void> {
    const target = await this.#version(service, version);
    if (target === undefined) throw new Error(`service ${service} has no config version ${version}`);
    if (target.state === 'failed')
      throw new Error(`config version ${version} of ${service} failed (${target.failure ?? ''}): it is never run again`);
    const ops: Op[] = [
      this.client.put(configKeys.current(service)).value(String(version)),
      this.client.delete().prefix(configKeys.overridesPrefix(service)),
      this.client.delete().key(configKeys.trial(service)),
    ];
    const trial = await this.#trialVersion(service);
    if (trial !== undefined && trial.state === 'trial' && trial.version !== version) {
      const stopped = decided(trial, { decided: true, ok: false, reason: `rolled back to version ${version}` });
      ops.push(this.client.put(configKeys.version(service, trial.version)).value(JSON.stringify(stopped)));
    }
    // Rolling back to a gray version still on trial makes it good: every instance is pointed at it.
    if (target.state === 'trial')
      ops.push(this.client.put(configKeys.version(service, version)).value(JSON.stringify(decided(target, { decided: true, ok: true }))));
    await this.client
      .if(configKeys.version(service, version), 'Create', '>', 0)
      .then(...ops)
      .commit();
  }

  async reportStatus(service: string, status: ApplyStatus): Promise<void> {
    const keeper = this.leases?.get(registrationKey(service, status.instance));
    if (keeper === undefined) {
      throw new Error(`instance "${status.instance}" is not registered through this client: its status lives under its lease`);
    }
    await keeper.set(configKeys.status(service, status.instance), JSON.stringify(status));
  }

  async status(service: string): Promise<ApplyStatus[]> {
    return this.#as('read', checkName('service', service), 'read config status', async () => {
      const values = await this.client.getAll().prefix(configKeys.statusPrefix(service)).strings();
      return Object.values(values)
        .map((v) => JSON.parse(v) as ApplyStatus)
        .sort((a, b) => a.instance.localeCompare(b.instance));
    });
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
    const keys = [configKeys.current(service), configKeys.trial(service), configKeys.override(service, instance)];
    const watch = new EtcdWatch(
      this.client,
      keys.map((key) => ({ key })),
      {
        onConnect: refresh,
        onEvent: refresh,
      },
    );
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

  /** The version `instance` should run (its override, else the trial, else current; never a failed one). */
  async #target(service: string, instance: string | undefined): Promise<ConfigVersion | undefined> {
    if (instance !== undefined) {
      const override = await this.#version(service, versionNumber(await this.client.get(configKeys.override(service, instance)).string()));
      if (runnable(override)) return override;
    }
    const trial = await this.#trialVersion(service);
    if (runnable(trial)) return trial;
    const current = await this.#version(service, versionNumber(await this.client.get(configKeys.current(service)).string()));
    return runnable(current) ? current : undefined;
  }

  async #trialVersion(service: string): Promise<ConfigVersion | undefined> {
    return this.#version(service, versionNumber(await this.client.get(configKeys.trial(service)).string()));
  }

  async #version(service: string, n: number | undefined): Promise<ConfigVersion | undefined> {
    if (n === undefined) return undefined;
    const text = await this.client.get(configKeys.version(service, n)).string();
    return text === null ? undefined : (JSON.parse(text) as ConfigVersion);
  }

  async #lastVersion(service: string): Promise<number> {
    const keys = await this.client.getAll().prefix(configKeys.versionsPrefix(service)).keys();
    const prefix = configKeys.versionsPrefix(service);
    return keys.reduce((max, key) => Math.max(max, versionNumber(key.slice(prefix.length)) ?? 0), 0);
  }
}
