/**
 * The console's live view of the fleet: every instance registered in polaris (a discovery watch on
 * every service) with its live load, followed on the instance's own WatchLoad stream as balancers
 * do (polaris/client/load-watch.ts; high-frequency load stays off etcd), and, when it is not ready,
 * why (its `/v2/health/ready` answer: "draining", a plugin process down, every exec slot stuck).
 * Listeners hear the whole view after each change, at most once per NOTIFY_MS, so that a busy fleet
 * costs the pages a bounded rate of updates.
 */
import type { LoaderClient } from '../../../proto/gen/aiges/v1/Loader.js';
import { type LoadWatch, watchLoad } from '../../../polaris/client/load-watch.js';
import type { InstanceLoad } from '../../../polaris/client/services-ls.js';
import type { Discovery, InstanceRecord, Watcher } from '../../../polaris/store/types.js';

/** ready: takes calls; not-ready: answers but refuses calls (`reasons` says why); unreachable: its load stream is down. */
export type InstanceState = 'ready' | 'not-ready' | 'unreachable';

export interface FleetInstance extends InstanceRecord {
  state: InstanceState;
  /** Null until the first report, and while the stream is down. */
  load: InstanceLoad | null;
  /** Why it is not ready (the loader's words), empty otherwise. */
  reasons: string[];
}

export interface FleetView {
  instances: FleetInstance[];
  /** Why polaris refuses the watch (credentials), when it does. */
  error?: string;
}

export interface FleetOptions {
  discovery: Discovery;
  /** A client of an instance's gRPC server (TLS and signing as the instance needs). */
  open: (record: InstanceRecord) => LoaderClient;
  /** Why an instance is not ready; [] when it cannot say. */
  reasons: (record: InstanceRecord) => Promise<string[]>;
}

/** Listeners hear of changes at most this often. */
export const NOTIFY_MS = 100;
/** At most this long, start waits for the first look at the fleet. */
const FIRST_LOOK_MS = 2_000;
/** A load stream that ended is opened again after this long, while the instance stays registered. */
const RETRY_MS = 1_000;

interface Followed {
  view: FleetInstance;
  watch?: LoadWatch;
  retry?: NodeJS.Timeout;
}

export class Fleet {
  readonly #followed = new Map<string, Followed>();
  readonly #listeners = new Set<(view: FleetView) => void>();
  #watcher: Watcher | undefined;
  #error: string | undefined;
  #pending: NodeJS.Timeout | undefined;
  #closed = false;
  /** The first list of instances has come. */
  #listed = false;

  constructor(private readonly options: FleetOptions) {}

  /**
   * Starts following the fleet; resolves once the first list has come and each instance on it has
   * answered (a first load report, or its stream ended) — or after FIRST_LOOK_MS, whichever is first
   * — so that a page or script served right after start sees the fleet as it is, not half-read.
   */
  async start(): Promise<void> {
    let settled!: () => void;
    const firstLook = new Promise<void>((resolve) => (settled = resolve));
    const check = (view: FleetView) => {
      if (this.#listed && view.instances.every((i) => i.load !== null || this.#followed.get(i.id)?.watch === undefined)) settled();
    };
    const off = this.onChange(check);
    this.#watcher = await this.options.discovery.watch(
      undefined,
      (records) => {
        this.#listed = true;
        this.#update(records);
      },
      (err) => {
        this.#error = err.message;
        this.#changed();
        settled();
      },
    );
    const timer = setTimeout(settled, FIRST_LOOK_MS);
    await firstLook;
    clearTimeout(timer);
    off();
  }

  view(): FleetView {
    const instances = [...this.#followed.values()].map((f) => f.view);
    return this.#error === undefined ? { instances } : { instances, error: this.#error };
  }

  /** Calls `listener` after changes (coalesced); returns a function that unsubscribes. */
  onChange(listener: (view: FleetView) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    clearTimeout(this.#pending);
    for (const f of this.#followed.values()) this.#unfollow(f);
    this.#followed.clear();
    this.#listeners.clear();
  }

  #update(records: InstanceRecord[]): void {
    this.#error = undefined;
    const live = new Set(records.map((r) => r.id));
    for (const [id, f] of this.#followed) {
      if (live.has(id)) continue;
      this.#unfollow(f);
      this.#followed.delete(id);
    }
    const next = new Map<string, Followed>();
    for (const record of records) {
      const known = this.#followed.get(record.id);
      if (known !== undefined) {
        known.view = { ...known.view, ...record };
        next.set(record.id, known);
      } else {
        const f: Followed = { view: { ...record, state: 'unreachable', load: null, reasons: [] } };
        next.set(record.id, f);
        this.#follow(f);
      }
    }
    // Keep the discovery order (service, version, id).
    this.#followed.clear();
    for (const [id, f] of next) this.#followed.set(id, f);
    this.#changed();
  }

  #follow(f: Followed): void {
    if (this.#closed) return;
    const id = f.view.id;
    const current = () => this.#followed.get(id) === f;
    f.watch = watchLoad(
      this.options.open(f.view),
      (load) => {
        const wasReady = f.view.state === 'ready';
        f.view = { ...f.view, load, state: load.ready ? 'ready' : 'not-ready', ...(load.ready ? { reasons: [] } : {}) };
        if (!load.ready && (wasReady || f.view.reasons.length === 0)) void this.#explain(f);
        this.#changed();
      },
      () => {
        f.watch = undefined;
        if (!current()) return;
        f.view = { ...f.view, load: null, state: 'unreachable', reasons: [] };
        this.#changed();
        f.retry = setTimeout(() => current() && this.#follow(f), RETRY_MS);
      },
    );
  }

  async #explain(f: Followed): Promise<void> {
    const reasons = await this.options.reasons(f.view).catch(() => []);
    if (f.view.state !== 'not-ready') return;
    f.view = { ...f.view, reasons };
    this.#changed();
  }

  #unfollow(f: Followed): void {
    clearTimeout(f.retry);
    f.watch?.cancel();
  }

  #changed(): void {
    if (this.#pending !== undefined || this.#closed) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      const view = this.view();
      for (const listener of this.#listeners) listener(view);
    }, NOTIFY_MS);
  }
}
