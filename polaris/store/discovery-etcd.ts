/**
 * Discovery on etcd: lists and watches polaris/services/<service>/ (a PrefixWatch: the full sorted
 * instance list after each change).
 */
import type { Etcd3 } from 'etcd3';
import type { Discovery, InstanceRecord, Watcher } from './types.js';
import { byServiceVersionId, serviceKeys } from './keys.js';
import { listPrefix, PrefixWatches } from './prefix-watch-etcd.js';
import { refusedAs } from './etcd-errors.js';

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

  /** `user`: the etcd user the client authenticates as, named when etcd refuses a call. */
  constructor(
    private readonly client: Etcd3,
    private readonly user?: string,
  ) {
    this.#watches = new PrefixWatches(client);
  }

  async list(service?: string): Promise<InstanceRecord[]> {
    const prefix = serviceKeys.prefix(service);
    return refusedAs(this.user, `read ${prefix}, to list instances`, () =>
      listPrefix(this.client, prefix, parseRecord, byServiceVersionId),
    );
  }

  async watch(
    service: string | undefined,
    onChange: (instances: InstanceRecord[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher> {
    const prefix = serviceKeys.prefix(service);
    return this.#watches.open(prefix, parseRecord, byServiceVersionId, onChange, {
      user: this.user,
      action: `read ${prefix}, to follow the instances`,
      ...(onError === undefined ? {} : { onError }),
    });
  }

  async close(): Promise<void> {
    this.#watches.close();
  }
}
