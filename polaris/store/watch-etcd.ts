/**
 * A resilient etcd watch over a few keys or prefixes, for discovery and config. etcd3's watchers
 * reconnect by themselves and replay what they missed; on top of that this helper
 *  - calls `onConnect` on the first attach and after every reconnect, so the caller re-reads the
 *    state it derives (cheap, and right even when events were compacted away meanwhile);
 *  - replaces a watcher that etcd cancels (e.g. its revision was compacted) with a fresh one; one
 *    that etcd refuses (authentication on, and the user may not read it) is told to `onRefused` and
 *    tried again every 2 s, since a role may be granted meanwhile;
 *  - never waits for etcd: it returns at once, attaching when etcd answers.
 */
import type { Etcd3, IKeyValue, Watcher as EtcdWatcher } from 'etcd3';
import { isEtcdRefusal } from './etcd-errors.js';

export type WatchTarget = { key: string } | { prefix: string };

export interface WatchHandlers {
  /** Attached (first time, or again after a reconnect or replacement): re-read the state. */
  onConnect(): void;
  /** A key changed. */
  onEvent(kind: 'put' | 'delete', kv: IKeyValue): void;
  /** etcd refused the watch (credentials, permissions). */
  onRefused?(err: Error): void;
}

const REPLACE_DELAY_MS = 100;
const REFUSED_RETRY_MS = 2_000;
const CANCEL_TIMEOUT_MS = 500;

export class EtcdWatch {
  readonly #watchers = new Set<EtcdWatcher>();
  #closed = false;

  constructor(
    private readonly client: Etcd3,
    targets: readonly WatchTarget[],
    private readonly handlers: WatchHandlers,
  ) {
    for (const target of targets) this.#attach(target);
  }

  #attach(target: WatchTarget): void {
    if (this.#closed) return;
    const builder = this.client.watch();
    if ('key' in target) builder.key(target.key);
    else builder.prefix(target.prefix);
    // NOTE: watcher() attaches without waiting for etcd (create() would wait until it answers).
    const watcher = builder.watcher();
    this.#watchers.add(watcher);
    watcher.on('connected', () => this.handlers.onConnect());
    watcher.on('put', (kv) => this.handlers.onEvent('put', kv));
    watcher.on('delete', (kv) => this.handlers.onEvent('delete', kv));
    watcher.on('error', (err: Error) => {
      // etcd cancelled this watcher (e.g. compaction): start over from the current state.
      this.#watchers.delete(watcher);
      void watcher.cancel().catch(() => undefined);
      const refused = isEtcdRefusal(err);
      if (refused && !this.#closed) this.handlers.onRefused?.(err);
      setTimeout(() => this.#attach(target), refused ? REFUSED_RETRY_MS : REPLACE_DELAY_MS).unref();
    });
  }

  /** Stops watching; bounded when etcd does not answer the cancel. */
  async close(): Promise<void> {
    this.#closed = true;
    const cancels = [...this.#watchers].map((w) => w.cancel().catch(() => undefined));
    this.#watchers.clear();
    await Promise.race([Promise.all(cancels), new Promise((r) => setTimeout(r, CANCEL_TIMEOUT_MS).unref())]);
  }
}
