/**
 * HTTP adapter under the loader's lifecycle and limits: readiness while starting and stopping,
 * deadlines, capacity, client disconnects. Plugins are held on gates, released on events.
 */
import { describe, expect, it, vi } from 'vitest';
import { b64, call, expectError, gate, get, startLoader, textBody, useGates } from './http-helpers.js';

const GATED = 'test/fixtures/plugins/http-gated.ts';
const gatedBody = (text: string) => ({ payload: { text: { text: b64(text) } } });

describe('readiness', () => {
  it('is live but not ready while the plugin initialises, ready after', async () => {
    const init = gate();
    const loader = await startLoader({ plugin: { path: GATED }, wrapper: useGates({ init }) }, { start: false });
    const starting = loader.start();
    try {
      // Loading the plugin (tsx) takes a while on a busy machine.
      await vi.waitFor(() => expect(init.entered).toHaveLength(1), { timeout: 15_000 });
      expect((await get(loader, '/v2/health/live')).status).toBe(200);
      const ready = await get(loader, '/v2/health/ready');
      expect(ready).toMatchObject({ status: 503, body: { ready: false } });
      // The plugin is coming: unavailable for now (a client retries), not an unknown service.
      expect(expectError(await call(loader, gatedBody('early'), { service: 'gated' }), 503, 10101)).toContain('initialising');
      init.open();
      await starting;
      expect((await get(loader, '/v2/health/ready')).status).toBe(200);
    } finally {
      init.open();
      await starting.catch(() => undefined);
      await loader.stop();
    }
  });

  it('turns not ready as soon as it stops, while in-flight calls finish', async () => {
    const exec = gate();
    const loader = await startLoader({ plugin: { path: GATED }, wrapper: useGates({ exec }) });
    const inflight = call(loader, gatedBody('last one'), { service: 'gated' });
    await vi.waitFor(() => expect(exec.entered).toHaveLength(1));
    const stopping = loader.stop();
    expect((await get(loader, '/v2/health/ready')).status).toBe(503);
    expect((await get(loader, '/v2/health/live')).status).toBe(200);
    expectError(await call(loader, gatedBody('too late'), { service: 'gated' }), 503, 10101);
    exec.open();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(Buffer.from(res.body.payload.text.text, 'base64').toString()).toBe('last one');
    await stopping;
  });
});

describe('deadlines, capacity and cancel', () => {
  it('aiges-timeout-ms past → 504 / 10102, and the slot is released', async () => {
    const loader = await startLoader();
    try {
      const res = await call(loader, textBody('slow', { params: { delay_ms: 60_000 } }), {
        headers: { 'aiges-timeout-ms': '50' },
      });
      expect(expectError(res, 504, 10102)).toMatch(/deadline of \d+ ms exceeded/);
      await vi.waitFor(() => expect(loader.dataplane.admission.inUse).toBe(0));
      const text = await (await fetch(`http://127.0.0.1:${loader.httpPort}/metrics`)).text();
      expect(text).toMatch(/aiges_requests_total\{service="echo",mode="once",code="10102"\} 1/);
    } finally {
      await loader.stop();
    }
  });

  it('refuses a call past capacity with 429 / 10110 at once', async () => {
    const exec = gate();
    const loader = await startLoader({ plugin: { path: GATED }, wrapper: useGates({ exec }), limits: { capacity: 1 } });
    try {
      const first = call(loader, gatedBody('first'), { service: 'gated' });
      await vi.waitFor(() => expect(exec.entered).toHaveLength(1));
      expect(loader.dataplane.admission.inUse).toBe(1);
      expect(expectError(await call(loader, gatedBody('second'), { service: 'gated' }), 429, 10110)).toContain('capacity');
      exec.open();
      expect((await first).status).toBe(200);
      expect(loader.dataplane.admission.inUse).toBe(0);
      expect((await call(loader, gatedBody('third'), { service: 'gated' })).status).toBe(200);
    } finally {
      exec.open();
      await loader.stop();
    }
  });

  it('a client that disconnects cancels the call and frees its slot', async () => {
    const exec = gate();
    const loader = await startLoader({ plugin: { path: GATED }, wrapper: useGates({ exec }) });
    try {
      const controller = new AbortController();
      const pending = call(loader, gatedBody('bye'), { service: 'gated', signal: controller.signal });
      await vi.waitFor(() => expect(exec.entered).toHaveLength(1));
      controller.abort();
      await expect(pending).rejects.toThrow();
      const signal = exec.entered[0] as AbortSignal;
      await vi.waitFor(() => expect(signal.aborted).toBe(true));
      expect((signal.reason as { aigesCode?: number }).aigesCode).toBe(10202);
      await vi.waitFor(() => expect(loader.dataplane.admission.inUse).toBe(0));
    } finally {
      exec.open();
      await loader.stop();
    }
  });
});
