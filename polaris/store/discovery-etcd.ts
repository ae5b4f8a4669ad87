/**
 * Discovery on etcd: lists and watches polaris/services/<service>/ (a PrefixWatch: the full sorted
 * instance list after each change).
 */
import type { Etcd3 } from 'etcd3';
import type { Discovery, InstanceRecord, Watcher } from './types.js';
import { byServiceVersionId, serviceKeys } from './keys.js';
import { listPrefix, PrefixWatches } from './prefix-watch-etcd.js';

function parseRecord(value: Buffer | string): InstanceRecord | undefined {
  try {
    const record = JSON.parse(value.toString()) as InstanceRecord;
    return typeof record.id === 'string' && typeof record.address === 'string' ? record : undefined;
  } catch {
    return undefined; // not ours: skip rather than break every watcher
  }
}

export class EtcdDiscovery implements Discovery {
  readonly #watches: PrefixWatches;

  constructor(private readonly client: Etcd3) {
    this.#watches = new PrefixWatches(client);
  }

  async list(service?: string): Promise<InstanceRecord[]> {
    return listPrefix(this.client, serviceKeys.prefix(service), parseRecord, byServiceVersionId);
  }

  async watch(service: string, onChange: (instances: InstanceRecord[]) => void): Promise<Watcher> {
    return this.#watches.open(serviceKeys.prefix(service), parseRecord, byServiceVersionId, onChange);
  }

  async close(): Promise<void> {
    this.#watches.close();
  }
}
