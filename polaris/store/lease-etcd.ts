/**
 * One instance's lease in etcd and the keys written under it (its registration record and its
 * config status). The keeper takes a lease, writes every key, keeps the lease alive, and when the
 * lease is lost — etcd down longer than twice the TTL, etcd restarted without the lease, the lease
 * revoked — takes a new one and writes every key again, backing off 200 ms doubling to 2 s while etcd
 * does not answer. Closing revokes the lease, which removes every key at once.
 *
 * A brief etcd restart (under twice the TTL) keeps the lease: etcd restores leases with a fresh TTL
 * at startup, and etcd3's keepalive stream reconnects by itself.
 */
import type { Etcd3, Lease } from 'etcd3';
import { describeRefusal } from './etcd-errors.js';

export type LeaseState = 'pending' | 'live' | 'closed';

const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 2_000;
/** How long close() waits for etcd to revoke the lease. */
const REVOKE_TIMEOUT_MS = 1_500;

export class LeaseKeeper {
  readonly #keys = new Map<string, string>();
  /** Keys whose latest value is not yet known to be written under the live lease. */
  readonly #dirty = new Set<string>();
  readonly #listeners = new Set<(state: LeaseState, error?: Error) => void>();
  #lease: Lease | undefined;
  #state: LeaseState = 'pending';
  #error: Error | undefined;
  #writes: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #closedSignal!: () => void;
  readonly #closed = new Promise<void>((resolve) => (this.#closedSignal = resolve));
  #firstAttempt!: () => void;
  /** Settles after the first try to take the lease and write the keys, whatever its outcome. */
  readonly firstAttempt = new Promise<void>((resolve) => (this.#firstAttempt = resolve));
  readonly #loop: Promise<void>;

  constructor(
    private readonly client: Etcd3,
    private readonly ttlS: number,
    initial: ReadonlyMap<string, string>,
    /** The etcd user the client authenticates as, named when etcd refuses a write. */
    private readonly user?: string,
  ) {
    for (const [key, value] of initial) this.#keys.set(key, value);
    this.#loop = this.#run();
  }

  get state(): LeaseState {
    return this.#state;
  }

  /** Why the keeper is pending, when it is. */
  get error(): Error | undefined {
    return this.#error;
  }

  onState(listener: (state: LeaseState, error?: Error) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Sets a key under the lease. Resolves once written — or at once when the lease is not live, or
   * when the write fails; the key is then written when the lease is next live or the next
   * keepalive succeeds. Writes happen in call order.
   */
  set(key: string, value: string): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    this.#keys.set(key, value);
    this.#dirty.add(key);
    return this.#flush();
  }

  /** Revokes the lease (every key goes at once); bounded when etcd does not answer. Idempotent. */
  async close(): Promise<void> {
    if (this.#state !== 'closed') {
      this.#setState('closed');
      this.#closedSignal();
      this.#wake?.();
    }
    await Promise.race([this.#loop, new Promise((r) => setTimeout(r, REVOKE_TIMEOUT_MS + 500).unref())]);
  }

  #flush(): Promise<void> {
    this.#writes = this.#writes.then(() => this.#writeDirty());
    return this.#writes;
  }

  async #writeDirty(): Promise<void> {
    const lease = this.#lease;
    if (lease === undefined || this.#state !== 'live') return;
    for (const key of [...this.#dirty]) {
      const value = this.#keys.get(key)!;
      this.#dirty.delete(key);
      try {
        await lease.put(key).value(value);
      } catch {
        // NOTE: retried on the next successful keepalive, or rewritten under the next lease.
        this.#dirty.add(key);
        return;
      }
    }
  }

  async #run(): Promise<void> {
    let retryMs = FIRST_RETRY_MS;
    let held: Lease | undefined;
    while (!this.#isClosed()) {
      const lease = this.client.lease(this.ttlS);
      held = lease;
      const lost = new Promise<Error>((resolve) => lease.once('lost', resolve));
      lease.on('keepaliveSucceeded', () => {
        if (this.#dirty.size > 0) void this.#flush();
      });
      let error: Error | undefined;
      try {
        await lease.grant();
        // Every key is rewritten under the new lease: a snapshot now, later sets through #flush.
        const snapshot = [...this.#keys];
        this.#dirty.clear();
        await Promise.all(snapshot.map(([key, value]) => lease.put(key).value(value)));
        if (this.#isClosed()) break;
        this.#lease = lease;
        this.#error = undefined;
        retryMs = FIRST_RETRY_MS;
        this.#setState('live');
        this.#firstAttempt();
        void this.#flush();
        error = await Promise.race([lost, this.#closed.then(() => undefined)]);
      } catch (err) {
        error = describeRefusal(err, this.user, `write ${[...this.#keys.keys()].join(' and ')}, to register`) as Error;
      }
      this.#lease = undefined;
      if (this.#isClosed()) break;
      held = undefined;
      // The keys must be written again under the next lease; free this one if etcd still has it.
      for (const key of this.#keys.keys()) this.#dirty.add(key);
      lease.revoke({ deadline: Date.now() + REVOKE_TIMEOUT_MS }).catch(() => undefined);
      this.#error = error;
      this.#setState('pending', error);
      this.#firstAttempt();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
    this.#lease = undefined;
    this.#firstAttempt();
    // Closed: revoke the lease held (or being taken), so every key goes at once.
    await held?.revoke({ deadline: Date.now() + REVOKE_TIMEOUT_MS }).catch(() => undefined);
  }

  /** (A method, not a field test: TS would narrow the state across the loop's awaits.) */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #setState(state: LeaseState, error?: Error): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of this.#listeners) listener(state, error);
  }
}

/**
 * The keepers of the registrations made through one client, by registration (`registrationKey`:
 * service and instance id): the registry opens them, the config center writes status keys under them.
 */
export class LeasePool {
  readonly #keepers = new Map<string, LeaseKeeper>();

  constructor(
    private readonly client: Etcd3,
    private readonly ttlS: number,
    private readonly user?: string,
  ) {}

  open(registration: string, initial: ReadonlyMap<string, string>): LeaseKeeper {
    if (this.#keepers.has(registration)) throw new Error(`registration "${registration}" is already in place`);
    const keeper = new LeaseKeeper(this.client, this.ttlS, initial, this.user);
    this.#keepers.set(registration, keeper);
    return keeper;
  }

  get(registration: string): LeaseKeeper | undefined {
    return this.#keepers.get(registration);
  }

  async close(registration: string): Promise<void> {
    const keeper = this.#keepers.get(registration);
    this.#keepers.delete(registration);
    await keeper?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#keepers.keys()].map((id) => this.close(id)));
  }
}
