/**
 * Discovery on etcd: lists and watches polaris/services/<service>/. A watch keeps the instance map
 * of its service: it reads the whole prefix when it (re)attaches, applies each put and delete after
 * that, and hands the full sorted list to the caller after each change. Events no newer than the
 * last read are skipped, so a replayed event never resurrects an instance the read saw gone.
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import type { Discovery, InstanceRecord, Watcher } from './types.js';
import { byServiceVersionId, serviceKeys } from './keys.js';
import { EtcdWatch } from './watch-etcd.js';

function parseRecord(value: Buffer | string): InstanceRecord | undefined {
  try {
    const record = JSON.parse(value.toString()) as InstanceRecord;
    return typeof record.id === 'string' && typeof record.address === 'string' ? record : undefined;
  } catch {
    return undefined; // not ours: skip rather than break every watcher
  }
}

class ServiceWatch implements Watcher {
  readonly #instances = new Map<string, InstanceRecord>();
  /** Revision of the last full read; older events are already in it. */
  #readRevision = 0n;
  #reading = 0;
  /** Events that arrive while a read is in flight, applied after it (those newer than the read). */
  #buffered: { kind: 'put' | 'delete'; kv: IKeyValue }[] | undefined;
  #lastSignature: string | undefined;
  #closed = false;
  readonly #watch: EtcdWatch;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly onChange: (instances: InstanceRecord[]) => void,
  ) {
    this.#watch = new EtcdWatch(client, [{ prefix }], {
      onConnect: () => void this.#read(),
      onEvent: (kind, kv) => (this.#buffered === undefined ? this.#apply(kind, kv) : this.#buffered.push({ kind, kv })),
    });
  }

  async #read(): Promise<void> {
    const reading = ++this.#reading;
    this.#buffered ??= [];
    try {
      const res = await this.client.getAll().prefix(this.prefix).exec();
      if (reading !== this.#reading || this.#closed) return; // a later read supersedes this one
      this.#instances.clear();
      for (const kv of res.kvs) {
        const record = parseRecord(kv.value);
        if (record !== undefined) this.#instances.set(kv.key.toString(), record);
      }
      this.#readRevision = BigInt(res.header.revision);
      const buffered = this.#buffered ?? [];
      this.#buffered = undefined;
      for (const { kind, kv } of buffered) this.#apply(kind, kv, false);
      this.#emit();
    } catch {
      // etcd went away mid-read; try again (a reconnect also reads again).
      if (reading === this.#reading && !this.#closed) setTimeout(() => void this.#read(), 500).unref();
    }
  }

  #apply(kind: 'put' | 'delete', kv: IKeyValue, emit = true): void {
    if (BigInt(kv.mod_revision) <= this.#readRevision) return;
    const key = kv.key.toString();
    if (kind === 'delete') this.#instances.delete(key);
    else {
      const record = parseRecord(kv.value);
      if (record === undefined) return;
      this.#instances.set(key, record);
    }
    if (emit) this.#emit();
  }

  #emit(): void {
    const list = [...this.#instances.values()].sort(byServiceVersionId);
    const signature = JSON.stringify(list);
    if (signature === this.#lastSignature) return;
    this.#lastSignature = signature;
    this.onChange(list);
  }

  close(): void {
    this.#closed = true;
    void this.#watch.close();
  }
}

export class EtcdDiscovery implements Discovery {
  readonly #watches = new Set<ServiceWatch>();

  constructor(private readonly client: Etcd3) {}

  async list(service?: string): Promise<InstanceRecord[]> {
    const values = await this.client.getAll().prefix(serviceKeys.prefix(service)).buffers();
    return Object.values(values)
      .map(parseRecord)
      .filter((r): r is InstanceRecord => r !== undefined)
      .sort(byServiceVersionId);
  }

  async watch(service: string, onChange: (instances: InstanceRecord[]) => void): Promise<Watcher> {
    const watch = new ServiceWatch(this.client, serviceKeys.prefix(service), onChange);
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
