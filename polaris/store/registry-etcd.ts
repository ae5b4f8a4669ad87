/**
 * Registry on etcd: each registration is one LeaseKeeper (lease-etcd.ts) holding the instance
 * record at polaris/services/<service>/<version>/<id>. The keeper re-registers by itself after a
 * lost lease or an etcd restart; this file maps its states onto the Registration contract.
 */
import type { InstanceRecord, Registration, RegistrationState, Registry } from './types.js';
import { registrationKey, serviceKeys } from './keys.js';
import type { LeaseKeeper, LeasePool, LeaseState } from './lease-etcd.js';

const STATES: Record<LeaseState, RegistrationState> = { pending: 'pending', live: 'registered', closed: 'deregistered' };

class EtcdRegistration implements Registration {
  #record: InstanceRecord;
  readonly #key: string;

  constructor(
    private readonly keeper: LeaseKeeper,
    private readonly pool: LeasePool,
    record: InstanceRecord,
  ) {
    this.#record = record;
    this.#key = serviceKeys.instance(record.service, record.version, record.id);
  }

  get record(): InstanceRecord {
    return this.#record;
  }

  get state(): RegistrationState {
    return STATES[this.keeper.state];
  }

  /** Why the registration is pending, when it is. */
  get error(): Error | undefined {
    return this.keeper.error;
  }

  onState(listener: (state: RegistrationState, error?: Error) => void): () => void {
    return this.keeper.onState((state, error) => listener(STATES[state], error));
  }

  async update(patch: Partial<Omit<InstanceRecord, 'id' | 'service' | 'version'>>): Promise<void> {
    this.#record = { ...this.#record, ...patch };
    await this.keeper.set(this.#key, JSON.stringify(this.#record));
  }

  deregister(): Promise<void> {
    return this.pool.close(registrationKey(this.#record.service, this.#record.id));
  }
}

export class EtcdRegistry implements Registry {
  constructor(private readonly pool: LeasePool) {}

  async register(record: InstanceRecord): Promise<Registration> {
    const key = serviceKeys.instance(record.service, record.version, record.id);
    const keeper = this.pool.open(registrationKey(record.service, record.id), new Map([[key, JSON.stringify(record)]]));
    await keeper.firstAttempt;
    return new EtcdRegistration(keeper, this.pool, record);
  }

  /** Deregisters every registration made here. */
  async close(): Promise<void> {
    await this.pool.closeAll();
  }
}
