/**
 * Polaris on etcd: registry, discovery, config center and AK/SK keys over one etcd3 client, sharing the
 * instances' leases (an instance's record and its config status live under one lease).
 */
import type { Etcd3 } from 'etcd3';
import { EtcdConfigCenter } from './config-etcd.js';
import { EtcdDiscovery } from './discovery-etcd.js';
import { connectEtcd, type EtcdConnectOptions } from './etcd-client.js';
import { LeasePool } from './lease-etcd.js';
import { EtcdRegistry } from './registry-etcd.js';
import type { ConfigValidator, Polaris } from './types.js';
import { EtcdKeyStore } from './keys-etcd.js';

export interface EtcdPolarisOptions extends EtcdConnectOptions {
  /** Lease TTL of registrations, in seconds (default 5). */
  ttlS?: number;
  /** Checks pushed config texts (ConfigCenter.push); none: any text is stored. */
  validateConfig?: ConfigValidator;
}

export class EtcdPolaris implements Polaris {
  readonly client: Etcd3;
  readonly registry: EtcdRegistry;
  readonly discovery: EtcdDiscovery;
  readonly config: EtcdConfigCenter;
  readonly keys: EtcdKeyStore;
  #closing: Promise<void> | undefined;

  constructor(options: EtcdPolarisOptions) {
    this.client = connectEtcd(options);
    const leases = new LeasePool(this.client, options.ttlS ?? 5, options.username);
    this.registry = new EtcdRegistry(leases);
    this.discovery = new EtcdDiscovery(this.client, options.username);
    this.config = new EtcdConfigCenter(this.client, leases, options.validateConfig, options.username);
    this.keys = new EtcdKeyStore(this.client, options.username);
  }

  /** Deregisters what is registered here, stops every watch, closes the client. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([this.registry.close(), this.discovery.close(), this.config.close(), this.keys.close()]);
      this.client.close();
    })();
    return this.#closing;
  }
}
