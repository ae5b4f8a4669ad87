/**
 * AK/SK keys in polaris on a real etcd: the key store itself (create once, list, revoke, watch),
 * and a fleet end to end: `aiges keys create` makes a key two loaders with
 * `[auth] keys_source = "polaris"` take, `aiges keys ls` never shows the secret, and after
 * `aiges keys revoke` both loaders refuse the key within a second.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Loader } from '../../../loader/loader.js';
import { EtcdPolaris } from '../../../polaris/store/polaris-etcd.js';
import type { StoredKey } from '../../../polaris/store/types.js';
import { runToExit } from '../../cli/serve-process.js';
import { newSecret, signHeaders, type TestKey } from '../../server/auth-helpers.js';
import { startLoader } from '../../server/http-helpers.js';
import { TestEtcd } from '../etcd.js';

let etcd: TestEtcd;
let admin: EtcdPolaris;

beforeAll(async () => {
  etcd = await TestEtcd.start();
  admin = new EtcdPolaris({ endpoints: [etcd.endpoint] });
});
afterAll(async () => {
  await admin.close();
  await etcd.stop();
});

const aiges = (...args: string[]) => runToExit([...args, '--etcd', etcd.endpoint]);

describe('EtcdKeyStore', () => {
  it('creates a key once, lists it, hands every change to a watch, revokes it', async () => {
    const seen: string[][] = [];
    const watcher = await admin.keys.watch((keys) => seen.push(keys.map((k) => k.accessKey)));
    const key: StoredKey = {
      accessKey: 'store-key',
      secretKey: newSecret(),
      services: ['echo'],
      createdAt: new Date().toISOString(),
      note: 'n',
    };
    try {
      await admin.keys.create(key);
      await expect(admin.keys.create({ ...key, secretKey: newSecret() })).rejects.toThrow(/exists already/);
      expect((await admin.keys.list()).find((k) => k.accessKey === 'store-key')).toEqual(key);
      await vi.waitFor(() => expect(seen.at(-1)).toContain('store-key'));
      expect(await admin.keys.revoke('store-key')).toBe(true);
      expect(await admin.keys.revoke('store-key')).toBe(false);
      await vi.waitFor(() => expect(seen.at(-1)).not.toContain('store-key'));
      await expect(admin.keys.create({ ...key, accessKey: 'a/b' })).rejects.toThrow(/invalid access key/);
    } finally {
      watcher.close();
    }
  });
});

describe('a fleet with keys in polaris', () => {
  it('takes a key made with aiges keys create on every loader, and refuses it on every loader within a second of aiges keys revoke', async () => {
    const loaders: Loader[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        loaders.push(
          await startLoader({
            polaris: { endpoints: [etcd.endpoint], ttl_s: 2 },
            auth: { mode: 'aksk', keys_source: 'polaris' },
          }),
        );
      }
      const created = await aiges('keys', 'create', '--services', 'echo', '--note', 'fleet test', '--json');
      expect(created.code, created.stderr).toBe(0);
      const made = JSON.parse(created.stdout) as StoredKey;
      expect(made.accessKey).toMatch(/^AK[A-Za-z0-9_-]{20}$/);
      expect(Buffer.from(made.secretKey, 'base64')).toHaveLength(32);
      const key: TestKey = { access_key: made.accessKey, secret_key: made.secretKey };

      let nonce = 0;
      const statuses = () =>
        Promise.all(
          loaders.map(async (loader) => {
            const host = `127.0.0.1:${loader.httpPort}`;
            const path = `/v1/metadata?nonce=${++nonce}`;
            return (await fetch(`http://${host}${path}`, { headers: signHeaders({ key, method: 'GET', path, host }) })).status;
          }),
        );
      await vi.waitFor(async () => expect(await statuses()).toEqual([200, 200]));

      const listed = await aiges('keys', 'ls');
      expect(listed.stdout).toContain(made.accessKey);
      expect(listed.stdout).toContain('fleet test');
      expect(listed.stdout + (await aiges('keys', 'ls', '--json')).stdout).not.toContain(made.secretKey);

      const revoked = await aiges('keys', 'revoke', made.accessKey);
      expect(revoked.code, revoked.stderr).toBe(0);
      const t0 = performance.now();
      await vi.waitFor(async () => expect(await statuses()).toEqual([401, 401]), { timeout: 2_000, interval: 20 });
      expect(performance.now() - t0).toBeLessThan(1_000);

      const again = await aiges('keys', 'revoke', made.accessKey);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/no access key/);
    } finally {
      await Promise.all(loaders.map((l) => l.stop()));
    }
  });
});
