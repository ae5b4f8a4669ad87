/**
 * The AK/SK key store in memory (unit tests): the store's key map; a watch hands over every key on
 * each change (and once the store answers, at first).
 */
import { accessKeyKeys, byAccessKey } from './keys.js';
import type { MemoryStore } from './store-memory.js';
import { MemoryWatches } from './watch-memory.js';
import type { KeyStore, StoredKey, Watcher } from './types.js';

export class MemoryKeyStore implements KeyStore {
  readonly #watches: MemoryWatches;

  constructor(private readonly store: MemoryStore) {
    this.#watches = new MemoryWatches(store);
  }

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
    return this.#watches.open('keys', () => this.#list(), onChange);
  }

  async close(): Promise<void> {
    this.#watches.close();
  }

  #list(): StoredKey[] {
    return [...this.store.keys.values()].map((k) => structuredClone(k)).sort(byAccessKey);
  }
}
