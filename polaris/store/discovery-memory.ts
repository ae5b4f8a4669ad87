/**
 * Discovery in memory (unit tests): lists the store's records; a watch hands over the full sorted
 * list of its service on every membership change (and once the store answers, at first).
 */
import type { Discovery, InstanceRecord, Watcher } from './types.js';
import { byServiceVersionId } from './keys.js';
import type { MemoryStore } from './store-memory.js';
import { MemoryWatches } from './watch-memory.js';

export class MemoryDiscovery implements Discovery {
  readonly #watches: MemoryWatches;

  constructor(private readonly store: MemoryStore) {
    this.#watches = new MemoryWatches(store);
  }

  async list(service?: string): Promise<InstanceRecord[]> {
    this.store.check();
    return this.#list(service);
  }

  async watch(service: string | undefined, onChange: (instances: InstanceRecord[]) => void): Promise<Watcher> {
    return this.#watches.open('instances', () => this.#list(service), onChange);
  }

  async close(): Promise<void> {
    this.#watches.close();
  }

  #list(service: string | undefined): InstanceRecord[] {
    return [...this.store.instances.values()].filter((r) => service === undefined || r.service === service).sort(byServiceVersionId);
  }
}
