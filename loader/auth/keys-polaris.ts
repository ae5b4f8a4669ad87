/**
 * `[auth] keys_source = "polaris"`: the access keys of the fleet, from polaris (`aiges keys`),
 * followed by a watch, so that a key created or revoked reaches every loader as soon as etcd tells
 * it (milliseconds). Each stored key is checked as a keys file entry is; one that does not check is
 * left out and logged by its access key (never quoted). A key whose record did not change keeps
 * its token bucket across updates. Until polaris first answers there is no key: every signed
 * request is refused (fail closed), and the loader says so. When etcd refuses to show the keys (its
 * user may not read polaris/keys/), the loader logs why, once until it changes, and keeps trying.
 */
import type { KeyStore, StoredKey, Watcher } from '../../polaris/store/types.js';
import type { Logger } from '../log.js';
import { type AccessKey, accessKeyOf, KeyEntry, type KeySource } from './keys.js';

export class PolarisKeys implements KeySource {
  #keys = new Map<string, { record: string; key: AccessKey }>();
  #watcher: Promise<Watcher> | undefined;
  #closed = false;
  #lastRefusal: string | undefined;
  #loaded!: () => void;
  /** Resolves when polaris has answered once. */
  readonly loaded = new Promise<void>((resolve) => (this.#loaded = resolve));

  constructor(
    private readonly store: KeyStore,
    private readonly log: Logger,
  ) {}

  get(accessKey: string): AccessKey | undefined {
    return this.#keys.get(accessKey)?.key;
  }

  watch(): void {
    this.#watcher ??= this.store.watch(
      (keys) => this.#take(keys),
      (err) => {
        if (this.#closed || err.message === this.#lastRefusal) return;
        this.#lastRefusal = err.message;
        this.log.error({ err }, 'polaris refused the access keys: signed calls are refused until it shows them');
      },
    );
  }

  close(): void {
    this.#closed = true;
    void this.#watcher?.then((w) => w.close());
  }

  #take(stored: StoredKey[]): void {
    if (this.#closed) return;
    this.#lastRefusal = undefined;
    const next = new Map<string, { record: string; key: AccessKey }>();
    for (const s of stored) {
      const record = JSON.stringify([s.secretKey, s.services, s.rate, s.burst, s.relay]);
      const kept = this.#keys.get(s.accessKey);
      if (kept !== undefined && kept.record === record) {
        next.set(s.accessKey, kept);
        continue;
      }
      const entry = KeyEntry.safeParse({
        access_key: s.accessKey,
        secret_key: s.secretKey,
        services: s.services,
        rate: s.rate,
        burst: s.burst,
        relay: s.relay,
      });
      if (!entry.success) {
        const fields = [...new Set(entry.error.issues.map((i) => i.path.join('.')))].join(', ');
        this.log.error({ access_key: s.accessKey, fields }, 'access key in polaris does not check: left out');
        continue;
      }
      next.set(s.accessKey, { record, key: accessKeyOf(entry.data) });
    }
    this.#keys = next;
    this.log.info({ keys: next.size }, 'access keys from polaris');
    this.#loaded();
  }
}
