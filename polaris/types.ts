/**
 * Polaris: the etcd-based service registry, discovery and config center (DESIGN.md §5).
 * Small interfaces with an etcd and an in-memory implementation each (kratos registry style);
 * the loader and the balancer depend on these, never on etcd directly.
 *
 * etcd layout (all under the `polaris/` prefix):
 *   polaris/services/<service>/<version>/<instance-id>   InstanceRecord JSON, under the instance's lease
 *   polaris/config/<service>/versions/<n>                ConfigVersion JSON (n = 1, 2, ...)
 *   polaris/config/<service>/current                     the version number every instance applies
 *   polaris/config/<service>/instances/<instance-id>     a version number for one instance (gray release)
 *   polaris/config/<service>/status/<instance-id>        ApplyStatus JSON, under the instance's lease
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

export interface Registration {
  readonly record: InstanceRecord;
  /** Removes the record at once (before draining); later calls do nothing. */
  deregister(): Promise<void>;
}

export interface Registry {
  /**
   * Registers under a lease with a short TTL kept alive in the background; re-registers by itself
   * after a lost lease or an etcd restart. Resolves once the first registration is written — or,
   * when etcd cannot be reached, at once with the registration pending (it is written as soon as
   * etcd answers; `onState` says so).
   */
  register(record: InstanceRecord): Promise<Registration>;
  close(): Promise<void>;
}

export interface Watcher {
  close(): void;
}

export interface Discovery {
  /** Every live instance of a service (all versions), or of every service. */
  list(service?: string): Promise<InstanceRecord[]>;
  /** Calls `onChange` with the full current list now and after every change. */
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
}

/** What one instance reports after trying to apply a version. */
export interface ApplyStatus {
  instance: string;
  version: number;
  ok: boolean;
  error?: string;
  appliedAt: string;
}

export interface ConfigCenter {
  /** Validates and stores a new version; with `instance`, points only that instance at it. */
  push(service: string, toml: string, options?: { instance?: string; note?: string }): Promise<ConfigVersion>;
  /** The version an instance (or, without one, every instance) should run; undefined when none. */
  get(service: string, options?: { version?: number; instance?: string }): Promise<ConfigVersion | undefined>;
  history(service: string): Promise<ConfigVersion[]>;
  /** Points every instance back at an earlier version (and clears gray overrides). */
  rollback(service: string, version: number): Promise<void>;
  reportStatus(service: string, status: ApplyStatus): Promise<void>;
  status(service: string): Promise<ApplyStatus[]>;
  /** Calls `onConfig` with the version `instance` should run, now and on every change. */
  watch(service: string, instance: string, onConfig: (config: ConfigVersion | undefined) => void): Promise<Watcher>;
  close(): Promise<void>;
}
