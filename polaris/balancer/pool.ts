/**
 * The instances of one service, kept in step with discovery: an Endpoint per instance id (new ids
 * connect and subscribe to their load; ids that leave discovery are closed), and the list of
 * live ones that picks choose from.
 */
import type { Logger } from '../../loader/log.js';
import { Endpoint, type EndpointSnapshot } from './endpoint.js';
import { pickTwoChoices } from './picker.js';
import type { Discovery, InstanceRecord, Watcher } from '../store/types.js';
import type { Hop } from './upstream.js';

export class ServicePool {
  readonly #endpoints = new Map<string, Endpoint>();
  #live: Endpoint[] = [];
  #watcher: Watcher | undefined;
  #closed = false;
  readonly #listeners = new Set<() => void>();

  private constructor(
    readonly service: string,
    private readonly log: Logger,
    private readonly relay: boolean,
    private readonly hop: Hop,
  ) {}

  /** Watches `service` and resolves once discovery gave its first list. */
  static async open(service: string, discovery: Discovery, log: Logger, relay = true, hop: Hop = {}): Promise<ServicePool> {
    const pool = new ServicePool(service, log.child({ service }), relay, hop);
    const watcher = await discovery.watch(service, (instances) => pool.#update(instances));
    if (pool.#closed) watcher.close();
    else pool.#watcher = watcher;
    return pool;
  }

  /** Live instances now. */
  get liveCount(): number {
    return this.#live.length;
  }

  /** Instances in discovery that never reported their load yet (still connecting). */
  get connecting(): number {
    let n = 0;
    for (const e of this.#endpoints.values()) if (!e.reported) n++;
    return n;
  }

  /**
   * Picks a live instance (never `exclude`) and counts the pick against it at once.
   * Undefined when none is live.
   */
  pick(exclude?: Endpoint): Endpoint | undefined {
    const chosen = pickTwoChoices(this.#live, exclude);
    chosen?.picked();
    return chosen;
  }

  /** Resolves true once an instance is live, false after `timeoutMs`. */
  whenLive(timeoutMs: number): Promise<boolean> {
    if (this.#live.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        off();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const off = this.onChange(() => {
        if (this.#live.length > 0) done(true);
      });
    });
  }

  /** Called when the set of live instances changes. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): EndpointSnapshot[] {
    const now = performance.now();
    return [...this.#endpoints.values()].map((e) => e.snapshot(now));
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    for (const endpoint of this.#endpoints.values()) endpoint.close();
    this.#endpoints.clear();
    this.#refresh();
  }

  #update(instances: InstanceRecord[]): void {
    if (this.#closed) return;
    const seen = new Set<string>();
    for (const record of instances) {
      seen.add(record.id);
      const known = this.#endpoints.get(record.id);
      // NOTE: same address and transport: the same endpoint; a loader that turned TLS on or off is a new one.
      if (known !== undefined && known.record.address === record.address && known.record.tls === record.tls) {
        known.record = record;
        continue;
      }
      known?.close();
      this.#endpoints.set(record.id, new Endpoint(record, this.log, () => this.#refresh(), this.relay, this.hop));
      this.log.info({ instance: record.id, address: record.address, tls: record.tls === true }, 'instance discovered');
    }
    for (const [id, endpoint] of this.#endpoints) {
      if (seen.has(id)) continue;
      this.#endpoints.delete(id);
      endpoint.close();
      this.log.info({ instance: id }, 'instance left discovery');
    }
    this.#refresh();
  }

  #refresh(): void {
    const live = [...this.#endpoints.values()].filter((e) => e.live);
    const changed = live.length !== this.#live.length || live.some((e, i) => e !== this.#live[i]);
    this.#live = live;
    if (changed) for (const listener of this.#listeners) listener();
  }
}
