/**
 * The AK/SK key store on etcd: one JSON value per key under polaris/keys/. A create is a
 * transaction that holds only while the key is absent; a watch is a PrefixWatch (the full key list
 * after each change).
 */
import type { Etcd3 } from 'etcd3';
import { accessKeyKeys, byAccessKey } from './keys.js';
import { listPrefix, PrefixWatches } from './prefix-watch-etcd.js';
import type { KeyStore, StoredKey, Watcher } from './types.js';
import { refusedAs } from './etcd-errors.js';

/** A stored value as a key, or undefined when it is not one (left out, never quoted). */
export function parseStoredKey(value: Buffer | string): StoredKey | undefined {
  try {
    const key = JSON.parse(value.toString()) as StoredKey;
    return typeof key.accessKey === 'string' && typeof key.secretKey === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

export class EtcdKeyStore implements KeyStore {
  readonly #watches: PrefixWatches;

  /** `user`: the etcd user the client authenticates as, named when etcd refuses a call. */
  constructor(
    private readonly client: Etcd3,
    private readonly user?: string,
  ) {
    this.#watches = new PrefixWatches(client);
  }

  async create(key: StoredKey): Promise<void> {
    const name = accessKeyKeys.key(key.accessKey);
    const res = await refusedAs(this.user, `write ${name}, to create an access key`, () =>
      this.client
        .if(name, 'Create', '==', 0)
        .then(this.client.put(name).value(JSON.stringify(key)))
        .commit(),
    );
    if (!res.succeeded) throw new Error(`access key "${key.accessKey}" exists already`);
  }

  async list(): Promise<StoredKey[]> {
    return refusedAs(this.user, `read ${accessKeyKeys.prefix}, to list access keys`, () =>
      listPrefix(this.client, accessKeyKeys.prefix, parseStoredKey, byAccessKey),
    );
  }

  async revoke(accessKey: string): Promise<boolean> {
    const name = accessKeyKeys.key(accessKey);
    const res = await refusedAs(this.user, `write ${name}, to revoke an access key`, () => this.client.delete().key(name).exec());
    return Number(res.deleted) > 0;
  }

  async watch(onChange: (keys: StoredKey[]) => void, onError?: (err: Error) => void): Promise<Watcher> {
    return this.#watches.open(accessKeyKeys.prefix, parseStoredKey, byAccessKey, onChange, {
      user: this.user,
      action: `read ${accessKeyKeys.prefix}, to follow the access keys`,
      ...(onError === undefined ? {} : { onError }),
    });
  }

  async close(): Promise<void> {
    this.#watches.close();
  }
}
