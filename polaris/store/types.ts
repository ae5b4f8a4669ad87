/**
 * Polaris: the etcd-based service registry, discovery and config center (polaris/README.md).
 * Small interfaces with an etcd and an in-memory implementation each (kratos registry style);
 * the loader and the balancer depend on these, never on etcd directly.
 *
 * etcd layout (all under the `polaris/` prefix; built in keys.ts):
 *   polaris/services/<service>/<version>/<instance-id>   InstanceRecord JSON, under the instance's lease
 *   polaris/config/<service>/versions/<n>                ConfigVersion JSON (n = 1, 2, ...; decimal, not padded)
 *   polaris/config/<service>/current                     the good version every instance runs
 *   polaris/config/<service>/trial                       the version being tried on every instance (a rollout)
 *   polaris/config/<service>/instances/<instance-id>     a version number for one instance (gray release)
 *   polaris/config/<service>/status/<instance-id>        ApplyStatus JSON, under the instance's lease
 *   polaris/keys/<access-key>                            StoredKey JSON: an AK/SK key for every loader with [auth] keys_source = "polaris"
 *
 * A push is a rollout (rollout.ts): the version is stored as a `trial` and tried, on every instance
 * (the `trial` key, gray overrides cleared) or on one (its override); the instances report whether
 * they applied it; `settle` then makes it `good` — and, for every instance, `current` — or marks it
 * `failed` and takes the trial away, so the instances go back to `current`. A failed version is never
 * what an instance (a new or restarted one included) is pointed at. A rollback sets `current` to an
 * earlier version and clears the overrides and any trial. An instance runs its override if it has
 * one, else the trial while there is one, else `current`. A version's text never changes; only its
 * state does.
 *
 * Membership and config live in etcd; high-frequency load does not (see LoadReport: loaders stream
 * it to balancers over gRPC).
 */

/** What a loader registers about itself. */
export interface InstanceRecord {
  /** Unique per process: `<hostname>-<pid>-<random>`. */
  id: string;
  service: string;
  version: string;
  /** host:port of the gRPC server (aiges.v1.Loader, health, load stream). */
  address: string;
  /** host:port of the HTTP server. */
  httpAddress: string;
  protocols: string[];
  /**
   * True: both addresses speak TLS (the loader's `[server.tls]`); balancers dial them over TLS.
   * Absent or false: plaintext (every record written before TLS existed).
   */
  tls?: boolean;
  /** Once calls plus sessions admitted at a time. */
  capacity: number;
  labels: Record<string, string>;
  /** ISO 8601. */
  startedAt: string;
}

/**
 * `pending`: not written (etcd unreachable, or the lease was lost and is being taken again);
 * `registered`: the record is in the store; `deregistered`: removed for good.
 */
export type RegistrationState = 'pending' | 'registered' | 'deregistered';

export interface Registration {
  /** The record as last written (or to be written). */
  readonly record: InstanceRecord;
  readonly state: RegistrationState;
  /** Why the registration is pending, when it is (e.g. etcd unreachable). */
  readonly error: Error | undefined;
  /**
   * Calls `listener` on every state change, with the error that made it pending, if any.
   * Returns a function that unsubscribes.
   */
  onState(listener: (state: RegistrationState, error?: Error) => void): () => void;
  /** Rewrites the record with some fields changed (e.g. capacity after a hot config change). */
  update(patch: Partial<Omit<InstanceRecord, 'id' | 'service' | 'version'>>): Promise<void>;
  /**
   * Removes the record — and everything else under the instance's lease, its config status
   * included — at once (before draining); later calls do nothing. Bounded: when etcd does not
   * answer, it gives up after a moment and the lease expires by itself within its TTL.
   */
  deregister(): Promise<void>;
}

export interface Registry {
  /**
   * Registers under a lease with a short TTL kept alive in the background; re-registers by itself
   * after a lost lease or an etcd restart. Resolves once the first registration is written — or,
   * when etcd cannot be reached, after that first failed try, with the registration `pending` (it is
   * written as soon as etcd answers; `onState` says so).
   */
  register(record: InstanceRecord): Promise<Registration>;
  close(): Promise<void>;
}

export interface Watcher {
  close(): void;
}

export interface Discovery {
  /** Every live instance of a service (all versions), or of every service; sorted by service, version, id. */
  list(service?: string): Promise<InstanceRecord[]>;
  /**
   * Calls `onChange` with the full current list of a service (undefined: of every service; sorted as
   * `list`) once the store answers and after every change, also across store restarts (the list is
   * read again on reconnect). Resolves at once. `onError` hears why the store refuses the watch (its
   * credentials may not read the instances); the watch keeps trying, for a grant may come later.
   */
  watch(service: string | undefined, onChange: (instances: InstanceRecord[]) => void, onError?: (err: Error) => void): Promise<Watcher>;
  close(): Promise<void>;
}

/** One stored config version of a service. */
export interface ConfigVersion {
  service: string;
  version: number;
  /** The pushed TOML text (sections [wrapper], [limits], [log]). */
  toml: string;
  createdAt: string;
  /** Free text: who or what pushed it. */
  note: string;
  /** Set when the version was pushed for one instance only (gray release). */
  instance?: string;
  /**
   * `trial` while it is being tried, `good` once every instance it was tried on applied it,
   * `failed` when one could not (never run again). Absent: stored before rollouts, taken as good.
   */
  state?: VersionState;
  /** Why it failed: which instance, with what error (or who did not report in time). */
  failure?: string;
  /** A trial's deadline (ISO 8601): instances that have not reported by then fail it. */
  deadline?: string;
  /** Once decided: what each instance it was tried on reported (absent: no report). */
  results?: TrialResult[];
}

export interface TrialResult {
  instance: string;
  /** Undefined: the instance did not report. */
  ok: boolean | undefined;
  error?: string;
}

export type VersionState = 'trial' | 'good' | 'failed';

/** What one instance reports after trying to apply a version. */
export interface ApplyStatus {
  instance: string;
  /** The version it tried. */
  version: number;
  ok: boolean;
  error?: string;
  /** The version in effect after the try (the tried one when ok); absent: its startup config. */
  running?: number;
  appliedAt: string;
}

/**
 * Checks a config text before it is stored; throws, naming the bad key, when a loader could not
 * apply it. The store knows nothing of the loader's config: whoever opens it passes the check
 * (`aiges config` and the loader pass loader/config/hot.ts `parseHotConfig`). None: any text is stored.
 */
export type ConfigValidator = (toml: string) => void;

export interface ConfigCenter {
  /**
   * Validates the text with the store's `ConfigValidator` (the loader's: only [wrapper], [limits],
   * [log], passing its schema; it throws naming the key) and starts its rollout: the version is
   * stored as a trial, on every instance (gray overrides cleared; a trial still running is marked
   * failed, superseded) or, with `instance`, on that one. It becomes good (and, for every instance,
   * current) only when `settle` finds every instance it was tried on applied it. `timeoutMs`: how
   * long the instances have to report (default ROLLOUT_TIMEOUT_MS).
   */
  push(service: string, toml: string, options?: { instance?: string; note?: string; timeoutMs?: number }): Promise<ConfigVersion>;
  /**
   * Decides every trial of the service that can be decided, from the reports of the `live`
   * instances (ids): makes it good or failed (rollout.ts `judge`). Any party may call it — the
   * instances after each report, the pushing CLI while it waits; a trial is decided once.
   */
  settle(service: string, live: readonly string[]): Promise<void>;
  /**
   * The version an instance (or, without one, every instance) should run — its override, else the
   * trial, else current; never a failed version — or a given version; undefined when none.
   */
  get(service: string, options?: { version?: number; instance?: string }): Promise<ConfigVersion | undefined>;
  /** The service's current version: the last good one every instance was pointed at; undefined when none. */
  current(service: string): Promise<ConfigVersion | undefined>;
  history(service: string): Promise<ConfigVersion[]>;
  /**
   * Points every instance at an earlier version that is not failed (clears gray overrides and any
   * trial, marking it failed); throws when there is no such version.
   */
  rollback(service: string, version: number): Promise<void>;
  /**
   * Records what `status.instance` applied, under that instance's lease (so it vanishes with the
   * instance). Only for an instance registered through the same Polaris (registry) in this process;
   * while its registration is pending the status is written when it registers.
   */
  reportStatus(service: string, status: ApplyStatus): Promise<void>;
  /** The last status of every live instance that reported one, by instance id. */
  status(service: string): Promise<ApplyStatus[]>;
  /**
   * Calls `onConfig` with the version `instance` should run once the store answers, and again
   * whenever that changes (a push, a rollback, a gray override), also across store restarts.
   * Resolves at once, even while the store is unreachable. Calls never overlap and come in order.
   */
  watch(service: string, instance: string, onConfig: (config: ConfigVersion | undefined) => void): Promise<Watcher>;
  close(): Promise<void>;
}

/**
 * An AK/SK access key kept in polaris (`aiges keys`), for every loader of the fleet whose
 * `[auth] keys_source` is "polaris" (docs/security.md). The secret is kept as issued (base64),
 * since loaders need it to check signatures: etcd's own authentication and TLS protect it.
 */
export interface StoredKey {
  accessKey: string;
  /** base64 of at least 16 random bytes. */
  secretKey: string;
  /** The services it may call; absent: every service. */
  services?: string[];
  /** Calls per second per loader (token bucket), and the bucket's size. */
  rate?: number;
  burst?: number;
  /** A balancer's key: relays calls of other keys and calls no service itself. */
  relay?: boolean;
  createdAt: string;
  /** Free text: whose key, what for. */
  note: string;
}

export interface KeyStore {
  /** Stores a new key; throws when the access key exists already. */
  create(key: StoredKey): Promise<void>;
  /** Every key, by access key. */
  list(): Promise<StoredKey[]>;
  /** Removes a key; false when there was none. */
  revoke(accessKey: string): Promise<boolean>;
  /**
   * Calls `onChange` with every key (sorted by access key) once the store answers and after every
   * change, also across store restarts. Resolves at once. `onError` hears why the store refuses the
   * watch (its credentials may not read the keys); the watch keeps trying, for a grant may come later.
   */
  watch(onChange: (keys: StoredKey[]) => void, onError?: (err: Error) => void): Promise<Watcher>;
  close(): Promise<void>;
}

/** The parts over one store, as the loader and the CLI use them. */
export interface Polaris {
  readonly registry: Registry;
  readonly discovery: Discovery;
  readonly config: ConfigCenter;
  readonly keys: KeyStore;
  /** Closes the parts and the connection to the store. */
  close(): Promise<void>;
}
