/**
 * Registry in memory (unit tests). Same contract as the etcd registry: a registration made while
 * the store is unavailable is pending and is written when the store answers again; one whose
 * "lease" expires is written again at once; deregistering removes the record and its status.
 */
import type { ApplyStatus, InstanceRecord, Registration, RegistrationState, Registry } from './types.js';
import { checkName, registrationKey } from './keys.js';
import { StoreUnavailableError, type MemoryStore } from './store-memory.js';

class MemoryRegistration implements Registration {
  #record: InstanceRecord;
  #state: RegistrationState = 'pending';
  #error: Error | undefined = new StoreUnavailableError();
  readonly #statuses = new Map<string, ApplyStatus>();
  readonly #listeners = new Set<(state: RegistrationState, error?: Error) => void>();
  readonly #onAvailable = () => this.#write();
  readonly #onExpire = (id: string) => {
    if (id !== this.#record.id) return;
    this.#setState('pending', new Error('lease expired'));
    setImmediate(() => this.#write());
  };

  constructor(
    private readonly store: MemoryStore,
    record: InstanceRecord,
  ) {
    this.#record = record;
    store.on('available', this.#onAvailable);
    store.on('expire', this.#onExpire);
    store.leases.set(registrationKey(record.service, record.id), { setStatus: (service, status) => this.#setStatus(service, status) });
    this.#write();
  }

  get record(): InstanceRecord {
    return this.#record;
  }

  get state(): RegistrationState {
    return this.#state;
  }

  get error(): Error | undefined {
    return this.#state === 'pending' ? this.#error : undefined;
  }

  onState(listener: (state: RegistrationState, error?: Error) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async update(patch: Partial<Omit<InstanceRecord, 'id' | 'service' | 'version'>>): Promise<void> {
    this.#record = { ...this.#record, ...patch };
    if (this.#state === 'registered' && this.store.available) this.store.putInstance(this.#record);
  }

  async deregister(): Promise<void> {
    if (this.#state === 'deregistered') return;
    this.store.off('available', this.#onAvailable);
    this.store.off('expire', this.#onExpire);
    this.store.leases.delete(registrationKey(this.#record.service, this.#record.id));
    this.store.removeInstance(this.#record);
    this.#setState('deregistered');
  }

  #setStatus(service: string, status: ApplyStatus): void {
    this.#statuses.set(service, status);
    if (this.#state === 'registered' && this.store.available) this.#writeStatus(service, status);
  }

  #write(): void {
    if (this.#state === 'deregistered' || !this.store.available) return;
    this.store.putInstance(this.#record);
    for (const [service, status] of this.#statuses) this.#writeStatus(service, status);
    this.#setState('registered');
  }

  #writeStatus(service: string, status: ApplyStatus): void {
    this.store.config(service).status.set(status.instance, status);
    this.store.emit('config', service);
  }

  #setState(state: RegistrationState, error?: Error): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#error = error;
    for (const listener of this.#listeners) listener(state, error);
  }
}

export class MemoryRegistry implements Registry {
  readonly #registrations = new Set<MemoryRegistration>();

  constructor(private readonly store: MemoryStore) {}

  async register(record: InstanceRecord): Promise<Registration> {
    checkName('service', record.service);
    checkName('instance id', record.id);
    if (this.store.leases.has(registrationKey(record.service, record.id))) {
      throw new Error(`instance "${record.id}" is already registered as service "${record.service}"`);
    }
    const registration = new MemoryRegistration(this.store, record);
    this.#registrations.add(registration);
    return registration;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#registrations].map((r) => r.deregister()));
    this.#registrations.clear();
  }
}
