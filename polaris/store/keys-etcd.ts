/**
 * The AK/SK key store on etcd: one JSON value per key under polaris/keys/. A create is a
 * transaction that holds only while the key is absent; a watch is a PrefixWatch (the full key list
 * after each change).
 */
import type { Etcd3 } from 'etcd3';
import { accessKeyKeys, byAccessKey } from './keys.js';
import { listPrefix, PrefixWatches } from './prefix-watch-etcd.js';
import type { KeyStore, StoredKey, Watcher } from './types.js';

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

  constructor(private readonly client: Etcd3) {
    this.#watches = new PrefixWatches(client);
  }

  async create(key: StoredKey): Promise<void> {
    const name = accessKeyKeys.key(key.accessKey);
    const res = await this.client
      .if(name, 'Create', '==', 0)
      .then(this.client.put(name).value(JSON.stringify(key)))
      .commit();
    if (!res.succeeded) throw new Error(`access key "${key.accessKey}" exists already`);
  }

  async list(): Promise<StoredKey[]> {
    return listPrefix(this.client, accessKeyKeys.prefix, parseStoredKey, byAccessKey);
  }

  async revoke(accessKey: string): Promise<boolean> {
    const res = await this.client.delete().key(accessKeyKeys.key(accessKey)).exec();
    return Number(res.deleted) > 0;
  }

  async watch(onChange: (keys: StoredKey[]) => void): Promise<Watcher> {
    return this.#watches.open(accessKeyKeys.prefix, parseStoredKey, byAccessKey, onChange);
  }

  async close(): Promise<void> {
    this.#watches.close();
  }
}
