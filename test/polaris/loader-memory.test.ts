/**
 * The loader's polaris lifecycle and hot config over the in-memory Polaris (unit tier, fast):
 * register after ready, deregister before draining, hot-apply of [log], [limits] and [wrapper],
 * a failing [wrapper] init, gray release, rollback, and a store that is down at start.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryPolaris } from '../../polaris/store/polaris-memory.js';
import { MemoryStore } from '../../polaris/store/store-memory.js';
import { configurableStats } from '../fixtures/plugins/polaris-configurable.js';
import { ask, codeOf, startTestLoader, type TestLoader } from './helpers.js';

const SERVICE = 'configurable';
let store: MemoryStore;
let running: TestLoader[];

beforeEach(() => {
  store = new MemoryStore();
  running = [];
  configurableStats().reset();
});

afterEach(async () => {
  configurableStats().release();
  await Promise.all(running.map((t) => t.loader.stop()));
});

async function start(overrides: Record<string, Record<string, unknown>> = {}): Promise<TestLoader & { polaris: MemoryPolaris }> {
  const polaris = new MemoryPolaris(store);
  const t = await startTestLoader({ limits: { drain_grace_ms: 5_000 }, ...overrides }, { polaris });
  running.push(t);
  return { ...t, polaris };
}

const statusOf = async (polaris: MemoryPolaris, instance: string) =>
  (await polaris.config.status(SERVICE)).find((s) => s.instance === instance);

describe('registration', () => {
  it('registers once ready, with its address, capacity and labels', async () => {
    const { loader, polaris } = await start({ limits: { capacity: 7 } });
    const [record] = await polaris.discovery.list(SERVICE);
    expect(record).toMatchObject({
      id: loader.instanceId,
      service: SERVICE,
      version: '1',
      address: `127.0.0.1:${loader.grpcPort}`,
      httpAddress: `127.0.0.1:${loader.httpPort}`,
      capacity: 7,
    });
  });

  it('a graceful stop deregisters before draining: the record is gone while a call still runs', async () => {
    const { loader, polaris } = await start();
    const held = ask(loader, 'last', { hold: 'true' });
    await vi.waitFor(() => expect(configurableStats().held).toBe(1));
    const stopping = loader.stop();
    await vi.waitFor(async () => expect(await polaris.discovery.list(SERVICE)).toEqual([]));
    expect(configurableStats().held).toBe(1);
    configurableStats().release();
    expect(await held).toBe('last');
    await stopping;
  });

  it('store down at start: serves standalone with a warning, registers and applies config when it answers', async () => {
    const admin = new MemoryPolaris(store);
    await admin.config.push(SERVICE, '[limits]\ncapacity = 3\n');
    store.setAvailable(false);
    const { loader, polaris, waitForLog } = await start();
    expect(
      await waitForLog('polaris unreachable: serving standalone with the startup config; will register and follow config when it answers'),
    ).toBeDefined();
    expect(await ask(loader, 'standalone')).toBe('standalone');
    store.setAvailable(true);
    await vi.waitFor(async () => expect((await polaris.discovery.list(SERVICE)).map((r) => r.id)).toEqual([loader.instanceId]));
    await vi.waitFor(() => expect(loader.dataplane.admission.capacity).toBe(3));
    await vi.waitFor(async () => expect(await statusOf(polaris, loader.instanceId)).toMatchObject({ version: 1, ok: true }));
  });
});

describe('hot config', () => {
  it('applies [log] level and [limits] capacity at once; a capacity drop never cancels admitted calls', async () => {
    const { loader, polaris } = await start({ limits: { capacity: 4, drain_grace_ms: 5_000 } });
    const held = [ask(loader, 'one', { hold: 'true' }), ask(loader, 'two', { hold: 'true' })];
    await vi.waitFor(() => expect(configurableStats().held).toBe(2));
    await polaris.config.push(SERVICE, '[log]\nlevel = "debug"\n[limits]\ncapacity = 1\n');
    await vi.waitFor(() => expect(loader.dataplane.admission.capacity).toBe(1));
    expect(loader.log.level).toBe('debug');
    expect(await codeOf(ask(loader, 'refused'))).toBe(10110);
    configurableStats().release();
    expect(await Promise.all(held)).toEqual(['one', 'two']);
    expect(await ask(loader, 'fits again')).toBe('fits again');
    expect((await polaris.discovery.list(SERVICE))[0]?.capacity).toBe(1);
    expect(await statusOf(polaris, loader.instanceId)).toMatchObject({ version: 1, ok: true });
  });

  it('[wrapper]: a new plugin set serves new calls; the old one finishes its calls, then is finalised', async () => {
    const { loader, polaris } = await start({ wrapper: { prefix: 'v0:' } });
    const stats = configurableStats();
    const finisBefore = stats.finis;
    const held = ask(loader, 'old', { hold: 'true' });
    await vi.waitFor(() => expect(stats.held).toBe(1));
    await polaris.config.push(SERVICE, '[wrapper]\nprefix = "v1:"\n');
    await vi.waitFor(async () => expect(await ask(loader, 'x')).toBe('v1:x'));
    expect(stats.finis).toBe(finisBefore);
    stats.release();
    expect(await held).toBe('v0:old');
    await vi.waitFor(() => expect(stats.finalised.at(-1)).toBe('v0:'));
  });

  it('[wrapper]: the new plugin set keeps the [plugin.batching] settings (a pushed config cannot change them)', async () => {
    const { loader, polaris } = await start({ plugin: { batching: { max_batch_size: 4, max_queue_delay_ms: 3 } } });
    const before = loader.registry.get(SERVICE);
    expect(before.batching).toEqual({ maxBatchSize: 4, maxQueueDelayMs: 3, preferredBatchSizes: [] });
    await polaris.config.push(SERVICE, '[wrapper]\nprefix = "v1:"\n');
    await vi.waitFor(() => expect(loader.registry.get(SERVICE)).not.toBe(before));
    expect(loader.registry.get(SERVICE).batching).toEqual({ maxBatchSize: 4, maxQueueDelayMs: 3, preferredBatchSizes: [] });
  });

  it('a [wrapper] whose init fails keeps the old set serving and reports the error', async () => {
    const { loader, polaris } = await start({ wrapper: { prefix: 'good:' } });
    await polaris.config.push(SERVICE, '[wrapper]\nfail = true\n[limits]\ncapacity = 2\n');
    await vi.waitFor(async () => expect(await statusOf(polaris, loader.instanceId)).toMatchObject({ version: 1, ok: false }));
    expect((await statusOf(polaris, loader.instanceId))?.error).toMatch(/init failed.*configured to fail/);
    expect(await ask(loader, 'still')).toBe('good:still');
    // Nothing of the failed version applied, its [limits] included.
    expect(loader.dataplane.admission.capacity).toBe(64);
    await polaris.config.push(SERVICE, '[wrapper]\nprefix = "fixed:"\n');
    await vi.waitFor(async () => expect(await statusOf(polaris, loader.instanceId)).toMatchObject({ version: 2, ok: true }));
    expect(await ask(loader, 'now')).toBe('fixed:now');
  });

  it('gray release reaches one instance only; a rollback brings everyone to the version named', async () => {
    const a = await start();
    const b = await start();
    await a.polaris.config.push(SERVICE, '[wrapper]\nprefix = "v1:"\n');
    await vi.waitFor(async () => expect([await ask(a.loader, 'x'), await ask(b.loader, 'x')]).toEqual(['v1:x', 'v1:x']));
    await a.polaris.config.push(SERVICE, '[wrapper]\nprefix = "canary:"\n', { instance: b.loader.instanceId });
    await vi.waitFor(async () => expect(await statusOf(a.polaris, b.loader.instanceId)).toMatchObject({ version: 2, ok: true }));
    expect([await ask(a.loader, 'x'), await ask(b.loader, 'x')]).toEqual(['v1:x', 'canary:x']);
    expect(await statusOf(a.polaris, a.loader.instanceId)).toMatchObject({ version: 1 });
    await a.polaris.config.rollback(SERVICE, 1);
    await vi.waitFor(async () => expect(await statusOf(a.polaris, b.loader.instanceId)).toMatchObject({ version: 1, ok: true }));
    expect(await ask(b.loader, 'x')).toBe('v1:x');
  });
});
