/**
 * `[auth] keys_source = "polaris"` with an in-memory polaris: loaders sharing one store take a key
 * once it is created and refuse it once it is revoked; a stored key that does not check is left
 * out; a key left unchanged keeps its rate bucket when others change.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { MemoryPolaris } from '../../polaris/store/polaris-memory.js';
import { MemoryStore } from '../../polaris/store/store-memory.js';
import type { StoredKey } from '../../polaris/store/types.js';
import { newSecret, signHeaders, type TestKey } from '../server/auth-helpers.js';

const loaders: Loader[] = [];
afterEach(async () => {
  await Promise.all(loaders.splice(0).map((l) => l.stop()));
});

async function startPolarisLoader(store: MemoryStore): Promise<Loader> {
  const config = loadConfig({
    overrides: {
      server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
      plugin: { path: 'demo/echo' },
      log: { level: 'silent' },
      auth: { mode: 'aksk', keys_source: 'polaris' },
    },
  });
  const loader = new Loader(config, { defaultMetrics: false, polaris: new MemoryPolaris(store) });
  loaders.push(loader);
  await loader.start();
  return loader;
}

let nonce = 0;
async function status(loader: Loader, key: TestKey): Promise<number> {
  const host = `127.0.0.1:${loader.httpPort}`;
  const path = `/v1/metadata?nonce=${++nonce}`;
  const res = await fetch(`http://${host}${path}`, { headers: signHeaders({ key, method: 'GET', path, host }) });
  return res.status;
}

const stored = (key: TestKey, extra: Partial<StoredKey> = {}): StoredKey => ({
  accessKey: key.access_key,
  secretKey: key.secret_key,
  createdAt: new Date().toISOString(),
  note: '',
  ...extra,
});

describe('keys from polaris', () => {
  it('reach every loader on the store when created, and leave them when revoked', async () => {
    const store = new MemoryStore();
    const admin = new MemoryPolaris(store);
    const key: TestKey = { access_key: 'fleet-key', secret_key: newSecret() };
    const [a, b] = [await startPolarisLoader(store), await startPolarisLoader(store)] as [Loader, Loader];
    expect([await status(a, key), await status(b, key)]).toEqual([401, 401]);
    await admin.keys.create(stored(key));
    await vi.waitFor(async () => expect([await status(a, key), await status(b, key)]).toEqual([200, 200]));
    await admin.keys.revoke(key.access_key);
    await vi.waitFor(async () => expect([await status(a, key), await status(b, key)]).toEqual([401, 401]));
  });

  it('leaves out a stored key that does not check, and keeps the buckets of keys that did not change', async () => {
    const store = new MemoryStore();
    const admin = new MemoryPolaris(store);
    const limited: TestKey = { access_key: 'limited', secret_key: newSecret() };
    await admin.keys.create(stored(limited, { rate: 0.001, burst: 1 }));
    await admin.keys.create(stored({ access_key: 'short', secret_key: 'c2hvcnQ=' }));
    const loader = await startPolarisLoader(store);
    expect(await status(loader, limited)).toBe(200);
    expect(await status(loader, limited)).toBe(429);
    // Another key comes and goes: "limited" keeps its spent bucket (a refill would let it through).
    const other: TestKey = { access_key: 'other', secret_key: newSecret() };
    await admin.keys.create(stored(other));
    await vi.waitFor(async () => expect(await status(loader, other)).toBe(200));
    expect(await status(loader, limited)).toBe(429);
    expect(await status(loader, { access_key: 'short', secret_key: 'c2hvcnQ=' })).toBe(401);
  });

  it('needs polaris', () => {
    const config = loadConfig({ overrides: { plugin: { path: 'demo/echo' }, auth: { mode: 'aksk', keys_source: 'polaris' } } });
    expect(() => new Loader(config, { defaultMetrics: false })).toThrow(/keys_source = "polaris" needs a \[polaris\] section/);
  });
});
