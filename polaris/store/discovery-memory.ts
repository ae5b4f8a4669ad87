/**
 * Discovery in memory (unit tests): lists the store's records; a watch hands over the full sorted
 * list of its service on every membership change (and once the store answers, at first).
 */
import type { Discovery, InstanceRecord, Watcher } from './types.js';
import { byServiceVersionId } from './keys.js';
import type { MemoryStore } from './store-memory.js';

export class MemoryDiscovery implements Discovery {
  readonly #watchers = new Set<Watcher>();

  constructor(private readonly store: MemoryStore) {}

  async list(service?: string): Promise<InstanceRecord[]> {
    this.store.check();
    return this.#list(service);
  }

  async watch(service: string, onChange: (instances: InstanceRecord[]) => void): Promise<Watcher> {
    let last: string | undefined;
    const emit = () => {
      if (!this.store.available) return;
      const list = this.#list(service);
      const signature = JSON.stringify(list);
      if (signature === last) return;
      last = signature;
      onChange(list);
    };
    this.store.on('instances', emit);
    this.store.on('available', emit);
    queueMicrotask(emit);
    const watcher: Watcher = {
      close: () => {
        this.store.off('instances', emit);
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

  #list(service: string | undefined): InstanceRecord[] {
    return [...this.store.instances.values()].filter((r) => service === undefined || r.service === service).sort(byServiceVersionId);
  }
}
