/**
 * Watches on the in-memory store: each hands its listener `list()` once the store answers, then
 * after each of the store's `event`s (and when the store answers again), only when it changed;
 * the watches one store part opened are closed together. Discovery and the key store use it.
 */
import type { MemoryStore } from './store-memory.js';
import type { Watcher } from './types.js';

export class MemoryWatches {
  readonly #watchers = new Set<Watcher>();

  constructor(private readonly store: MemoryStore) {}

  open<T>(event: string, list: () => T, onChange: (value: T) => void): Watcher {
    let last: string | undefined;
    const emit = () => {
      if (!this.store.available) return;
      const value = list();
      const signature = JSON.stringify(value);
      if (signature === last) return;
      last = signature;
      onChange(value);
    };
    this.store.on(event, emit);
    this.store.on('available', emit);
    queueMicrotask(emit);
    const watcher: Watcher = {
      close: () => {
        this.store.off(event, emit);
        this.store.off('available', emit);
        this.#watchers.delete(watcher);
      },
    };
    this.#watchers.add(watcher);
    return watcher;
  }

  close(): void {
    for (const watcher of [...this.#watchers]) watcher.close();
  }
}
