/**
 * Polaris: the etcd-based service registry, discovery and config center (polaris/README.md).
 * Small interfaces with an etcd and an in-memory implementation each (kratos registry style);
 * the loader and the balancer depend on these, never on etcd directly.
 *
 * etcd layout (all under the `polaris/` prefix; built in keys.ts):
 *   polaris/services/<service>/<version>/<instance-id>   InstanceRecord JSON, under the instance's lease
 *   polaris/config/<service>/versions/<n>                ConfigVersion JSON (n = 1, 2, ...; decimal, not padded)
 *   polaris/config/<service>/current                     the version number every instance applies
 *   polaris/config/<service>/instances/<instance-id>     a version number for one instance (gray release)
 *   polaris/config/<service>/status/<instance-id>        ApplyStatus JSON, under the instance's lease
 *
 * A version is written once and never changed. A push for every instance sets `current` and clears
 * the gray overrides in the same transaction; a gray push sets one override; a rollback sets
 * `current` and clears the overrides. An instance runs its override if it has one, else `current`.
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
   * Calls `onChange` with the full current list (sorted as `list`) once the store answers and after
   * every change, also across store restarts (the list is read again on reconnect). Resolves at once.
   */
  watch(service: string, onChange: (instances: InstanceRecord[]) => void): Promise<Watcher>;
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
}

/** What one instance reports after trying to apply a version. */
export interface ApplyStatus {
  instance: string;
  version: number;
  ok: boolean;
  error?: string;
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
   * [log], passing its schema; it throws naming the key) and stores a new version. Without `instance` every
   * instance is pointed at it (gray overrides cleared); with `instance`, only that one.
   */
  push(service: string, toml: string, options?: { instance?: string; note?: string }): Promise<ConfigVersion>;
  /** The version an instance (or, without one, every instance) should run; undefined when none. */
  get(service: string, options?: { version?: number; instance?: string }): Promise<ConfigVersion | undefined>;
  history(service: string): Promise<ConfigVersion[]>;
  /** Points every instance back at an earlier version (and clears gray overrides); throws when there is no such version. */
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

/** The three parts over one store, as the loader and the CLI use them. */
export interface Polaris {
  readonly registry: Registry;
  readonly discovery: Discovery;
  readonly config: ConfigCenter;
  /** Closes the three and the connection to the store. */
  close(): Promise<void>;
}
