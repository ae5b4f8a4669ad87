/**
 * The records under one etcd prefix, followed: the watch reads the whole prefix when it
 * (re)attaches, applies each put and delete after that, and hands the full sorted list to the
 * caller after each change (only when the list changed). Events no newer than the last read are
 * skipped, so a replayed event never resurrects a record the read saw gone. Values that do not
 * parse are left out rather than break every watcher. Used by discovery (instances) and the key
 * store (access keys).
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import type { Watcher } from './types.js';
import { EtcdWatch } from './watch-etcd.js';
import { describeRefusal, isEtcdRefusal } from './etcd-errors.js';

const REREAD_DELAY_MS = 500;
/** How often a read etcd refused (credentials, permissions) is tried again: a grant may come later. */
const REFUSED_REREAD_MS = 2_000;

/** Who is watching, to name in a refusal, and who hears it. */
export interface RefusalReport {
  user: string | undefined;
  /** What the watch needs, e.g. "read polaris/keys/, to follow the access keys". */
  action: string;
  onError?: (err: Error) => void;
}

export class PrefixWatch<T> implements Watcher {
  readonly #records = new Map<string, T>();
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
    private readonly parse: (value: Buffer) => T | undefined,
    private readonly order: (a: T, b: T) => number,
    private readonly onChange: (records: T[]) => void,
    private readonly refusals?: RefusalReport,
  ) {
    this.#watch = new EtcdWatch(client, [{ prefix }], {
      onConnect: () => void this.#read(),
      onEvent: (kind, kv) => (this.#buffered === undefined ? this.#apply(kind, kv) : this.#buffered.push({ kind, kv })),
      onRefused: (err) => this.#refused(err),
    });
  }

  #refused(err: Error): void {
    if (this.#closed || this.refusals?.onError === undefined) return;
    this.refusals.onError(describeRefusal(err, this.refusals.user, this.refusals.action) as Error);
  }

  async #read(): Promise<void> {
    const reading = ++this.#reading;
    this.#buffered ??= [];
    try {
      const res = await this.client.getAll().prefix(this.prefix).exec();
      if (reading !== this.#reading || this.#closed) return; // a later read supersedes this one
      this.#records.clear();
      for (const kv of res.kvs) {
        const record = this.parse(kv.value);
        if (record !== undefined) this.#records.set(kv.key.toString(), record);
      }
      this.#readRevision = BigInt(res.header.revision);
      const buffered = this.#buffered ?? [];
      this.#buffered = undefined;
      for (const { kind, kv } of buffered) this.#apply(kind, kv, false);
      this.#emit();
    } catch (err) {
      // etcd went away mid-read; try again (a reconnect also reads again).
      const refused = isEtcdRefusal(err);
      if (refused) this.#refused(err as Error);
      if (reading === this.#reading && !this.#closed)
        setTimeout(() => void this.#read(), refused ? REFUSED_REREAD_MS : REREAD_DELAY_MS).unref();
    }
  }

  #apply(kind: 'put' | 'delete', kv: IKeyValue, emit = true): void {
    if (BigInt(kv.mod_revision) <= this.#readRevision) return;
    const key = kv.key.toString();
    if (kind === 'delete') this.#records.delete(key);
    else {
      const record = this.parse(kv.value);
      if (record === undefined) return;
      this.#records.set(key, record);
    }
    if (emit) this.#emit();
  }

  #emit(): void {
    const list = [...this.#records.values()].sort(this.order);
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

/** The prefix watches one store part opened, closed together when the part closes. */
export class PrefixWatches {
  readonly #watches = new Set<Watcher>();

  constructor(private readonly client: Etcd3) {}

  open<T>(
    prefix: string,
    parse: (value: Buffer) => T | undefined,
    order: (a: T, b: T) => number,
    onChange: (records: T[]) => void,
    refusals?: RefusalReport,
  ): Watcher {
    const watch = new PrefixWatch(this.client, prefix, parse, order, onChange, refusals);
    const handle: Watcher = {
      close: () => {
        this.#watches.delete(handle);
        watch.close();
      },
    };
    this.#watches.add(handle);
    return handle;
  }

  close(): void {
    for (const watch of [...this.#watches]) watch.close();
  }
}

/** The records under a prefix now, sorted (values that do not parse left out). */
export async function listPrefix<T>(
  client: Etcd3,
  prefix: string,
  parse: (value: Buffer) => T | undefined,
  order: (a: T, b: T) => number,
): Promise<T[]> {
  const values = await client.getAll().prefix(prefix).buffers();
  return Object.values(values)
    .map(parse)
    .filter((r): r is T => r !== undefined)
    .sort(order);
}
