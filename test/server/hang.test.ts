/**
 * A plugin whose execs overrun their deadline and ignore their signal: each call is answered at
 * its deadline, but the execs keep their exec slots; once every slot is held by one abandoned
 * longer than limits.hang_grace_ms, the loader reports not ready (HTTP, gRPC health, load reports)
 * and says why, and turns ready again when the plugin lets go.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { stuckControl } from '../fixtures/plugins/stuck.js';
import { b64, call, expectError, get, startLoader, url } from './http-helpers.js';

const STUCK = 'test/fixtures/plugins/stuck.ts';
const body = (text: string) => ({ payload: { text: { text: b64(text) } } });
const metric = async (loader: Loader, name: string) => {
  const text = await (await fetch(url(loader, '/metrics'))).text();
  return Number(new RegExp(`^${name}\\{service="stuck"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
};

let loader: Loader | undefined;
afterEach(async () => {
  stuckControl().release();
  await loader?.stop();
  loader = undefined;
});

describe('hung execs', () => {
  it('every exec slot stuck past the hang grace → not ready, with the reason; ready again when they return', async () => {
    loader = await startLoader({ plugin: { path: STUCK, concurrency: 2 }, limits: { hang_grace_ms: 50 } });
    const seen: string[] = [];
    loader.health.onChange(() => seen.push(loader!.health.ready ? 'ready' : 'not ready'));
    const timeout = { headers: { 'aiges-timeout-ms': '20' } };
    // Two calls answered at their deadline; their execs run on.
    expectError(await call(loader, body('a'), { service: 'stuck', ...timeout }), 504, 10102);
    expect((await get(loader, '/v2/health/ready')).status).toBe(200); // one slot is still free
    expectError(await call(loader, body('b'), { service: 'stuck', ...timeout }), 504, 10102);
    expect(stuckControl().running).toBe(2);
    expect(loader.dataplane.admission.inUse).toBe(0);
    // Past the grace both count as stuck: every slot is, so the loader is not ready and says why.
    await vi.waitFor(() => expect(loader!.health.ready).toBe(false));
    const ready = await get(loader, '/v2/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      ready: false,
      reasons: [expect.stringMatching(/all 2 exec slots of stuck are held by calls abandoned more than 50 ms ago/)],
    });
    expect(await metric(loader, 'aiges_plugin_stuck_calls')).toBe(2);
    // The plugin lets go: ready again, nothing stuck.
    stuckControl().release();
    await vi.waitFor(() => expect(loader!.health.ready).toBe(true));
    expect(await metric(loader, 'aiges_plugin_stuck_calls')).toBe(0);
    expect(seen).toEqual(['not ready', 'ready']);
    expect((await get(loader, '/v2/health/ready')).status).toBe(200);
  });

  it('a stuck call frees its slot when it returns, so the next call is served', async () => {
    loader = await startLoader({ plugin: { path: STUCK, concurrency: 1 }, limits: { hang_grace_ms: 50 } });
    expectError(await call(loader, body('a'), { service: 'stuck', headers: { 'aiges-timeout-ms': '20' } }), 504, 10102);
    const instance = loader.registry.get('stuck');
    expect(instance.execSlots.available).toBe(0);
    // The next call waits for the slot (the plugin never runs two at concurrency 1).
    const next = call(loader, body('b'), { service: 'stuck' });
    await vi.waitFor(() => expect(instance.execSlots.waiting).toBe(1));
    expect(stuckControl().running).toBe(1);
    const started = stuckControl().started;
    stuckControl().release(); // the stuck one returns; the next one runs
    await vi.waitFor(() => expect(stuckControl().started).toBe(started + 1));
    expect(stuckControl().running).toBe(1);
    stuckControl().release();
    expect((await next).status).toBe(200);
  });
});
