/**
 * Registry and discovery against a real etcd (integration tier): a real `aiges serve` appears and,
 * after kill -9, vanishes when the lease of its configured TTL expires; loaders survive etcd
 * restarts, short (the lease survives) and long (the lease is lost and taken again); a loader
 * started while etcd is down serves standalone and registers when etcd comes back; a graceful stop
 * deregisters before draining.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Etcd3 } from 'etcd3';
import { EtcdPolaris } from '../../../polaris/store/polaris-etcd.js';
import { serviceKeys } from '../../../polaris/store/keys.js';
import type { InstanceRecord } from '../../../polaris/store/types.js';
import { startServe, type CliProcess } from '../../cli/serve-process.js';
import { configurableStats } from '../../fixtures/plugins/polaris-configurable.js';
import { TestEtcd } from '../etcd.js';
import { ask, startTestLoader, tomlFile, type TestLoader } from '../helpers.js';

let etcd: TestEtcd;
let admin: EtcdPolaris;
/** A plain client, to read the leases behind the records. */
let raw: Etcd3;
const loaders: TestLoader[] = [];
const children: CliProcess[] = [];

beforeAll(async () => {
  etcd = await TestEtcd.start();
  admin = new EtcdPolaris({ endpoints: [etcd.endpoint] });
  raw = new Etcd3({ hosts: etcd.endpoint });
});
beforeEach(() => configurableStats().reset());
afterEach(async () => {
  configurableStats().release();
  for (const c of children.splice(0)) c.proc.kill('SIGKILL');
  await Promise.all(loaders.splice(0).map((t) => t.loader.stop()));
  await etcd.resume();
});
afterAll(async () => {
  raw.close();
  await admin.close();
  await etcd.stop();
});

/** An in-process loader registered in the test etcd as `service`. */
async function startRegistered(service: string, polaris: Record<string, unknown> = {}, options: { start?: boolean } = {}) {
  const t = await startTestLoader(
    { polaris: { endpoints: [etcd.endpoint], service, ttl_s: 1, labels: { zone: 'test' }, ...polaris }, limits: { drain_grace_ms: 5_000 } },
    options,
  );
  loaders.push(t);
  return t;
}

const ids = (list: InstanceRecord[]) => list.map((r) => r.id);

describe('registry on etcd', () => {
  it('a real aiges serve appears once ready; after kill -9 it vanishes as the lease of its TTL expires', async () => {
    const config = tomlFile(
      `[polaris]\nendpoints = ["${etcd.endpoint}"]\nttl_s = 2\nservice = "serve-kill"\n[polaris.labels]\nzone = "a"\n`,
    );
    const seen: string[][] = [];
    const watcher = await admin.discovery.watch('serve-kill', (list) => seen.push(ids(list)));
    try {
      const serve = await startServe(['demo/echo', '-c', config]);
      children.push(serve);
      await serve.waitForLog('registered in polaris');
      const [record] = await admin.discovery.list('serve-kill');
      expect(record).toMatchObject({
        address: `127.0.0.1:${serve.grpcPort}`,
        httpAddress: `127.0.0.1:${serve.httpPort}`,
        capacity: 64,
        labels: { zone: 'a' },
      });
      expect(record?.id).toMatch(new RegExp(`-${serve.proc.pid}-[0-9a-f]{6}$`));
      await vi.waitFor(() => expect(seen.at(-1)).toEqual([record?.id]));
      // The record is held by a lease granted for the configured TTL, and by nothing else.
      const [kv] = (await raw.getAll().prefix(serviceKeys.prefix('serve-kill')).exec()).kvs;
      const lease = kv?.lease ?? '0';
      expect((await raw.leaseClient.leaseTimeToLive({ ID: lease })).grantedTTL).toBe('2');

      serve.proc.kill('SIGKILL');
      await serve.exited;
      // Nothing keeps the lease alive now: etcd expires it (TTL after the last keepalive; it checks
      // every 500 ms) and the record goes with it. The bound is where the test gives up waiting.
      await vi.waitFor(async () => expect(await admin.discovery.list('serve-kill')).toEqual([]), { timeout: 6_000, interval: 100 });
      expect((await raw.leaseClient.leaseTimeToLive({ ID: lease })).TTL).toBe('-1');
      await vi.waitFor(() => expect(seen.at(-1)).toEqual([]));
    } finally {
      watcher.close();
    }
  });

  it('a graceful stop deregisters before draining: the record is gone while a call still completes', async () => {
    const { loader } = await startRegistered('graceful');
    expect(ids(await admin.discovery.list('graceful'))).toEqual([loader.instanceId]);
    const held = ask(loader, 'in flight', { hold: 'true' });
    await vi.waitFor(() => expect(configurableStats().held).toBe(1));
    const stopping = loader.stop();
    await vi.waitFor(async () => expect(await admin.discovery.list('graceful')).toEqual([]));
    expect(configurableStats().held).toBe(1);
    configurableStats().release();
    expect(await held).toBe('in flight');
    await stopping;
  });

  it('survives a short etcd restart with its lease, and a long one by registering again; discovery follows', async () => {
    const { loader, waitForLog, logs } = await startRegistered('restarts');
    const seen: string[][] = [];
    const watcher = await admin.discovery.watch('restarts', (list) => seen.push(ids(list)));
    try {
      await vi.waitFor(() => expect(seen.at(-1)).toEqual([loader.instanceId]));
      // Short: etcd restores the lease with a fresh TTL; the keepalive reconnects.
      await etcd.kill();
      await etcd.resume();
      expect(ids(await admin.discovery.list('restarts'))).toEqual([loader.instanceId]);

      // Long (over twice the TTL): the lease is lost, and taken again once etcd answers.
      await etcd.kill();
      await waitForLog('polaris registration lost; registering again');
      await etcd.resume();
      await vi.waitFor(() => expect(logs.filter((l) => l['msg'] === 'registered in polaris')).toHaveLength(2));
      expect(ids(await admin.discovery.list('restarts'))).toEqual([loader.instanceId]);
      await vi.waitFor(() => expect(seen.at(-1)).toEqual([loader.instanceId]));

      // The config watch came back too.
      await admin.config.push('restarts', '[limits]\ncapacity = 5\n');
      await vi.waitFor(() => expect(loader.dataplane.admission.capacity).toBe(5));
      await vi.waitFor(async () => expect((await admin.discovery.list('restarts'))[0]?.capacity).toBe(5));
    } finally {
      watcher.close();
    }
  });

  it('etcd down at start: serves standalone with a warning, registers when etcd comes back', async () => {
    await admin.config.push('late', '[wrapper]\nprefix = "from polaris:"\n');
    await etcd.kill();
    const { loader, waitForLog } = await startRegistered('late');
    const warning = await waitForLog(
      'polaris unreachable: serving standalone with the startup config; will register and follow config when it answers',
    );
    expect(warning['level']).toBe(40);
    expect(await ask(loader, 'alone')).toBe('alone');
    await etcd.resume();
    await waitForLog('registered in polaris');
    expect(ids(await admin.discovery.list('late'))).toEqual([loader.instanceId]);
    // And it follows the service's config once etcd answers.
    await vi.waitFor(async () => expect(await ask(loader, 'x')).toBe('from polaris:x'));
    await vi.waitFor(async () =>
      expect(await admin.config.status('late')).toMatchObject([{ instance: loader.instanceId, version: 1, ok: true }]),
    );
  });
});
