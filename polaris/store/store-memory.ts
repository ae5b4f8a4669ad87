/**
 * The in-memory store behind the memory registry, discovery and config center (unit tests; go-micro's
 * memory registry): the same data as the etcd layout, in maps, with change events. It can also play
 * the failures the etcd implementations handle: an unreachable store (`setAvailable(false)`) and a
 * lost lease (`expire`).
 */
import { EventEmitter } from 'node:events';
import { registrationKey } from './keys.js';
import type { ApplyStatus, ConfigVersion, InstanceRecord, StoredKey } from './types.js';

export interface ServiceConfig {
  versions: ConfigVersion[];
  current: number | undefined;
  /** The version on trial on every instance (a rollout), if any. */
  trial: number | undefined;
  /** Gray overrides: instance id → version. */
  overrides: Map<string, number>;
  /** Status by instance id (held under the instance's "lease": gone when it deregisters or expires). */
  status: Map<string, ApplyStatus>;
}

export class StoreUnavailableError extends Error {
  constructor() {
    super('polaris store unavailable');
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Events: `instances` (membership changed), `config` (service: string) (a version, pointer or
 * status changed), `keys` (an access key was created or revoked), `available` (the store answers
 * again), `expire` (id: string).
 */
export class MemoryStore extends EventEmitter {
  /** Live instance records by registration (`registrationKey`: service and id). */
  readonly instances = new Map<string, InstanceRecord>();
  /**
   * What lives under each registration's lease besides its record (by `registrationKey`): its
   * status (kept while pending, written on registration). Set by the memory registry.
   */
  readonly leases = new Map<string, { setStatus(service: string, status: ApplyStatus): void }>();
  /** AK/SK keys by access key. */
  readonly keys = new Map<string, StoredKey>();
  readonly #configs = new Map<string, ServiceConfig>();
  #available = true;

  get available(): boolean {
    return this.#available;
  }

  /** Throws StoreUnavailableError while the store plays unreachable. */
  check(): void {
    if (!this.#available) throw new StoreUnavailableError();
  }

  /** Makes every call fail (false) or answer again (true); records stay, as etcd keeps its data. */
  setAvailable(available: boolean): void {
    if (available === this.#available) return;
    this.#available = available;
    if (available) this.emit('available');
  }

  /** Plays a lost lease: the instance's records and statuses vanish (a live registration takes them back). */
  expire(id: string): void {
    for (const record of [...this.instances.values()]) if (record.id === id) this.removeInstance(record);
    this.emit('expire', id);
  }

  config(service: string): ServiceConfig {
    let config = this.#configs.get(service);
    if (config === undefined) {
      config = { versions: [], current: undefined, trial: undefined, overrides: new Map(), status: new Map() };
      this.#configs.set(service, config);
    }
    return config;
  }

  putInstance(record: InstanceRecord): void {
    this.instances.set(registrationKey(record.service, record.id), record);
    this.emit('instances');
  }

  /** Removes a registration's record and the status it reported (its service's). */
  removeInstance(record: Pick<InstanceRecord, 'service' | 'id'>): void {
    const had = this.instances.delete(registrationKey(record.service, record.id));
    if (this.#configs.get(record.service)?.status.delete(record.id) === true) this.emit('config', record.service);
    if (had) this.emit('instances');
  }
}
