/**
 * AK/SK keys in polaris on a real etcd: the key store itself (create once, list, revoke, watch),
 * and a fleet end to end: `aiges keys create` makes a key two loaders with
 * `[auth] keys_source = "polaris"` take, `aiges keys ls` never shows the secret, and after
 * `aiges keys revoke` both loaders refuse the key within a second; and the same fleet behind
 * `aiges lb --auth aksk` with a balancer key made by `aiges keys create --relay`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Loader } from '../../../loader/loader.js';
import { EtcdPolaris } from '../../../polaris/store/polaris-etcd.js';
import type { StoredKey } from '../../../polaris/store/types.js';
import * as grpc from '@grpc/grpc-js';
import { createLoaderClient, infer } from '../../../loader/tools/client.js';
import { runCli, runToExit, startServe } from '../../cli/serve-process.js';
import { expectGrpcError, textItem } from '../../server/grpc-helpers.js';
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

describe('a secured fleet behind aiges lb', () => {
  it('checks calls at the edge with keys from polaris and signs each hop with a key made by aiges keys create --relay', async () => {
    const made = async (...flags: string[]) => {
      const r = await aiges('keys', 'create', ...flags, '--json');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as StoredKey;
    };
    const relayKey = await made('--access-key', 'lb-edge', '--relay', '--note', 'aiges lb');
    const clientKey = await made('--services', 'echo');
    expect((await aiges('keys', 'ls')).stdout).toMatch(/lb-edge +\* +- +- +yes/);

    const serve = await startServe(['demo/echo', '--set', `polaris.endpoints=${etcd.endpoint}`], {
      AIGES_AUTH_MODE: 'aksk',
      AIGES_AUTH_KEYS_SOURCE: 'polaris',
    });
    const lb = runCli(['lb', '--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--service', 'echo', '--auth', 'aksk'], {
      AIGES_ACCESS_KEY: relayKey.accessKey,
      AIGES_SECRET_KEY: relayKey.secretKey,
    });
    try {
      await serve.waitForLog('registered in polaris');
      const listening = await lb.waitForLog('balancer listening');
      expect(listening).toMatchObject({ auth: 'aksk', access_key: 'lb-edge' });
      expect(JSON.stringify(lb.logs)).not.toContain(relayKey.secretKey);
      await lb.waitForLog('instance admitted');
      const address = `127.0.0.1:${Number(listening['port'])}`;

      const call = (...extra: string[]) => runToExit(['call', address, 'echo', '--text', 'text=through the edge', ...extra]);
      const signed = await call('--access-key', clientKey.accessKey, '--secret-key', clientKey.secretKey);
      expect(signed.code, signed.stderr).toBe(0);
      expect(JSON.parse(signed.stdout).items[0].text).toBe('through the edge');
      const unsigned = await call();
      expect(unsigned.code).toBe(1);
      expect(unsigned.stderr).toMatch(/error 10206 \(UNAUTHENTICATED\)/);

      // aiges services ls reads each loader's load signed (WatchLoad needs a key too).
      const ls = (env: Record<string, string>) => runToExit(['services', 'ls', 'echo', '--etcd', etcd.endpoint], env);
      const withKey = await ls({ AIGES_ACCESS_KEY: clientKey.accessKey, AIGES_SECRET_KEY: clientKey.secretKey });
      expect(withKey.stdout, withKey.stderr).toMatch(/ 0\+0\/\d+ +yes /);
      expect((await ls({})).stdout).toMatch(/ \? +\? /);

      // Revoked: refused at the edge within a second.
      const client = createLoaderClient(address, {}, undefined, { accessKey: clientKey.accessKey, secretKey: clientKey.secretKey });
      try {
        await infer(client, { service: 'echo', items: [textItem('x')] });
        expect((await aiges('keys', 'revoke', clientKey.accessKey)).code).toBe(0);
        const t0 = performance.now();
        await vi.waitFor(
          () => expectGrpcError(infer(client, { service: 'echo', items: [textItem('x')] }), grpc.status.UNAUTHENTICATED, 10206),
          {
            timeout: 2_000,
            interval: 20,
          },
        );
        expect(performance.now() - t0).toBeLessThan(1_000);
      } finally {
        client.close();
      }
    } finally {
      lb.proc.kill('SIGTERM');
      serve.proc.kill('SIGTERM');
      await Promise.all([lb.exited, serve.exited]);
    }
  }, 60_000);
});
