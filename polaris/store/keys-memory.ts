/**
 * The AK/SK key store in memory (unit tests): the store's key map; a watch hands over every key on
 * each change (and once the store answers, at first).
 */
import { accessKeyKeys, byAccessKey } from './keys.js';
import type { MemoryStore } from './store-memory.js';
import type { KeyStore, StoredKey, Watcher } from './types.js';

export class MemoryKeyStore implements KeyStore {
  readonly #watchers = new Set<Watcher>();

  constructor(private readonly store: MemoryStore) {}

  async create(key: StoredKey): Promise<void> {
    this.store.check();
    accessKeyKeys.key(key.accessKey);
    if (this.store.keys.has(key.accessKey)) throw new Error(`access key "${key.accessKey}" exists already`);
    this.store.keys.set(key.accessKey, structuredClone(key));
    this.store.emit('keys');
  }

  async list(): Promise<StoredKey[]> {
    this.store.check();
    return this.#list();
  }

  async revoke(accessKey: string): Promise<boolean> {
    this.store.check();
    const had = this.store.keys.delete(accessKey);
    if (had) this.store.emit('keys');
    return had;
  }

  async watch(onChange: (keys: StoredKey[]) => void): Promise<Watcher> {
    let last: string | undefined;
    const emit = () => {
      if (!this.store.available) return;
      const list = this.#list();
      const signature = JSON.stringify(list);
      if (signature === last) return;
      last = signature;
      onChange(list);
    };
    this.store.on('keys', emit);
    this.store.on('available', emit);
    queueMicrotask(emit);
    const watcher: Watcher = {
      close: () => {
        this.store.off('keys', emit);
        this.store.off('available', emit);
        this.#watchers.delete(watcher);
      },
    };
    this.#watchers.add(watcher);
    return watcher;
  }

  async close(): Promise<void> {
    for (const watcher of [...this.#watchers]) watcher.close();
  }

  #list(): StoredKey[] {
    return [...this.store.keys.values()].map((k) => structuredClone(k)).sort(byAccessKey);
  }
}
