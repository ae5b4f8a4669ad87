/** Polaris in memory (unit tests): registry, discovery, config center and keys over one MemoryStore. */
import { MemoryConfigCenter } from './config-memory.js';
import { MemoryDiscovery } from './discovery-memory.js';
import { MemoryRegistry } from './registry-memory.js';
import { MemoryStore } from './store-memory.js';
import type { ConfigValidator, Polaris } from './types.js';
import { MemoryKeyStore } from './keys-memory.js';

export class MemoryPolaris implements Polaris {
  readonly registry: MemoryRegistry;
  readonly discovery: MemoryDiscovery;
  readonly config: MemoryConfigCenter;
  readonly keys: MemoryKeyStore;

  /** Several MemoryPolaris on one store play several processes on one etcd. */
  constructor(
    readonly store: MemoryStore = new MemoryStore(),
    options: { validateConfig?: ConfigValidator } = {},
  ) {
    this.registry = new MemoryRegistry(store);
    this.discovery = new MemoryDiscovery(store);
    this.config = new MemoryConfigCenter(store, options.validateConfig);
    this.keys = new MemoryKeyStore(store);
  }

  async close(): Promise<void> {
    await Promise.all([this.registry.close(), this.discovery.close(), this.config.close(), this.keys.close()]);
  }
}
