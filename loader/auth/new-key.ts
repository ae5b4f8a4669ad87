/**
 * A new AK/SK access key for polaris (`aiges keys create`, the console's "create key"): "AK" and 20
 * random characters unless named, 32 random bytes of secret, checked with the loaders' own rules so
 * that a key they would leave out is never stored.
 */
import { randomBytes } from 'node:crypto';
import type { StoredKey } from '../../polaris/store/types.js';
import { KeyEntry } from './keys.js';

export interface NewKeyOptions {
  accessKey?: string;
  services?: string[];
  rate?: number;
  burst?: number;
  relay?: boolean;
  note: string;
}

/** The key, or throws naming the bad field (`access_key` is named `flag`'s way, e.g. "--access-key"). */
export function newKey(options: NewKeyOptions, accessKeyName = 'access_key'): StoredKey {
  const key: StoredKey = {
    accessKey: options.accessKey ?? `AK${randomBytes(15).toString('base64url')}`,
    secretKey: randomBytes(32).toString('base64'),
    createdAt: new Date().toISOString(),
    note: options.note,
  };
  if (options.services !== undefined) key.services = options.services;
  if (options.rate !== undefined) key.rate = options.rate;
  if (options.burst !== undefined) key.burst = options.burst;
  if (options.relay === true) key.relay = true;
  const checked = KeyEntry.safeParse({
    access_key: key.accessKey,
    secret_key: key.secretKey,
    services: key.services,
    rate: key.rate,
    burst: key.burst,
    relay: key.relay,
  });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`${issue?.path.join('.').replace('access_key', accessKeyName) ?? 'key'}: ${issue?.message ?? 'invalid'}`);
  }
  return key;
}
