/**
 * Discovery on etcd: lists and watches polaris/services/<service>/ (a PrefixWatch: the full sorted
 * instance list after each change).
 */
import type { Etcd3 } from 'etcd3';
import type { Discovery, InstanceRecord, Watcher } from './types.js';
import { byServiceVersionId, serviceKeys } from './keys.js';
import { PrefixWatch } from './prefix-watch-etcd.js';

function parseRecord(value: Buffer | string): InstanceRecord | undefined {
  try {
    const record = JSON.parse(value.toString()) as InstanceRecord;
    return typeof record.id === 'string' && typeof record.address === 'string' ? record : undefined;
  } catch {
    return undefined; // not ours: skip rather than break every watcher
  }
}

export class EtcdDiscovery implements Discovery {
  readonly #watches = new Set<PrefixWatch<InstanceRecord>>();

  constructor(private readonly client: Etcd3) {}

  async list(service?: string): Promise<InstanceRecord[]> {
    const values = await this.client.getAll().prefix(serviceKeys.prefix(service)).buffers();
    return Object.values(values)
      .map(parseRecord)
      .filter((r): r is InstanceRecord => r !== undefined)
      .sort(byServiceVersionId);
  }

  async watch(service: string, onChange: (instances: InstanceRecord[]) => void): Promise<Watcher> {
    const watch = new PrefixWatch(this.client, serviceKeys.prefix(service), parseRecord, byServiceVersionId, onChange);
    this.#watches.add(watch);
    return {
      close: () => {
        this.#watches.delete(watch);
        watch.close();
      },
    };
  }

  async close(): Promise<void> {
    for (const watch of this.#watches) watch.close();
    this.#watches.clear();
  }
}
