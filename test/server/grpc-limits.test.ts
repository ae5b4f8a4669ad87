/**
 * gRPC adapter under the loader's limits: deadlines (client's and configured), capacity, session
 * idle timeout, client cancel, per-plugin concurrency and drain. Plugins are held on gates or
 * sleep as their own work; the tests wait on events, and check that every slot comes back.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { aigesCodeOf, infer, runSession } from '../../loader/tools/client.js';
import { slowStats } from '../fixtures/plugins/slow.js';
import type { DataItem } from '../../proto/gen/aiges/v1/DataItem.js';
import { FIXTURES, expectFree, expectGrpcError, gate, openSession, serve, textItem, useGates, type Served } from './grpc-helpers.js';

const { DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE, CANCELLED } = grpc.status;
const GATED = `${FIXTURES}/http-gated.ts`;
const frame = (text: string): DataItem[] => [{ ...textItem(text), status: 1 }];

let served: Served[] = [];
async function start(overrides: Parameters<typeof serve>[0]): Promise<Served> {
  const s = await serve(overrides);
  served.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(served.map((s) => s.close()));
  served = [];
});

describe('deadlines', () => {
  it("the client's deadline on a hung plugin → DEADLINE_EXCEEDED, and the slot is freed", async () => {
    const { loader, client } = await start({ plugin: { path: `${FIXTURES}/hangs.ts` } });
    const err = await infer(client, { service: 'hangs', items: [textItem('x')] }, 200).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    // Client and server hold the same deadline; whichever timer fires first answers. The
    // server's answer carries 10102, the client's own none.
    expect(err?.code).toBe(DEADLINE_EXCEEDED);
    expect([10102, undefined]).toContain(aigesCodeOf(err));
    await expectFree(loader);
    // Whichever side's timer fired first, the call is counted as a deadline, not a cancel.
    const counted = await loader.metrics.registry.getSingleMetricAsString('aiges_requests_total');
    expect(counted).toContain('aiges_requests_total{service="hangs",mode="once",code="10102"} 1');
    expect(counted).not.toContain('code="10202"');
  });

  it('with no client deadline, limits.default_deadline_ms → DEADLINE_EXCEEDED / 10102 from the server', async () => {
    const { loader, client } = await start({ plugin: { path: `${FIXTURES}/hangs.ts` }, limits: { default_deadline_ms: 200 } });
    const details = await expectGrpcError(infer(client, { service: 'hangs', items: [textItem('x')] }), DEADLINE_EXCEEDED, 10102);
    expect(details).toMatch(/deadline of 200 ms exceeded/);
    await expectFree(loader);
  });

  it('a session whose results hang past limits.session_deadline_ms → 10102', async () => {
    const { loader, client } = await start({ plugin: { path: `${FIXTURES}/hangs.ts` }, limits: { session_deadline_ms: 300 } });
    await expectGrpcError(runSession(client, { service: 'hangs' }, [frame('x')]), DEADLINE_EXCEEDED, 10102);
    await expectFree(loader);
  });
});

describe('capacity', () => {
  it('full → RESOURCE_EXHAUSTED / 10110 at once; calls succeed again once slots free', async () => {
    const exec = gate();
    const { loader, client } = await start({ plugin: { path: GATED }, wrapper: useGates({ exec }), limits: { capacity: 2 } });
    const session = openSession(client);
    session.write({ service: 'gated', items: frame('s1') });
    await session.received(1);
    const held = infer(client, { service: 'gated', items: [textItem('held')] });
    await vi.waitFor(() => expect(exec.entered).toHaveLength(1));
    expect(loader.dataplane.admission.inUse).toBe(2);

    const details = await expectGrpcError(infer(client, { service: 'gated', items: [textItem('no room')] }), RESOURCE_EXHAUSTED, 10110);
    expect(details).toMatch(/capacity of 2/);
    await expectGrpcError(runSession(client, { service: 'gated' }, [frame('no room')]), RESOURCE_EXHAUSTED, 10110);
    expect(exec.entered).toHaveLength(1);

    session.call.end();
    exec.open();
    expect((await held).items[0]?.data.toString()).toBe('held');
    expect((await session.done).at(-1)?.status).toBe(2);
    await expectFree(loader);
    const again = await Promise.all([1, 2].map((i) => infer(client, { service: 'gated', items: [textItem(`again ${i}`)] })));
    expect(again.map((r) => r.items[0]?.data.toString())).toEqual(['again 1', 'again 2']);
    await expectFree(loader);
  });
});

describe('sessions ended from outside', () => {
  it('idle past limits.session_idle_timeout_ms → DEADLINE_EXCEEDED / 10019, plugin session destroyed', async () => {
    const { loader, client } = await start({ plugin: { path: `${FIXTURES}/slow.ts` }, limits: { session_idle_timeout_ms: 200 } });
    const destroyed = slowStats().destroyed;
    const session = openSession(client);
    session.write({ service: 'slow' });
    await vi.waitFor(() => expect(slowStats().liveSessions).toBe(1));
    const details = await expectGrpcError(session.done, DEADLINE_EXCEEDED, 10019);
    expect(details).toMatch(/idle for more than 200 ms/);
    await vi.waitFor(() => expect(slowStats()).toMatchObject({ liveSessions: 0, destroyed: destroyed + 1 }));
    await expectFree(loader);
  });

  it('the client cancelling mid-session frees the slot and destroys the plugin session', async () => {
    const { loader, client } = await start({ plugin: { path: `${FIXTURES}/slow.ts` } });
    const destroyed = slowStats().destroyed;
    const session = openSession(client);
    session.write({ service: 'slow', params: { ms: '10' }, items: frame('a') });
    await session.received(1);
    expect(slowStats().liveSessions).toBe(1);
    expect(loader.dataplane.openSessions).toBe(1);
    session.call.cancel();
    await expectGrpcError(session.done, CANCELLED, undefined);
    await vi.waitFor(() => expect(slowStats()).toMatchObject({ liveSessions: 0, destroyed: destroyed + 1 }));
    await expectFree(loader);
  });

  it('the client cancelling an Infer aborts the plugin call and frees the slot', async () => {
    const exec = gate();
    const { loader, client } = await start({ plugin: { path: GATED }, wrapper: useGates({ exec }) });
    let call!: grpc.ClientUnaryCall;
    const answered = new Promise((resolve, reject) => {
      call = client.Infer({ service: 'gated', items: [textItem('x')] }, (err, res) => (err ? reject(err) : resolve(res)));
    });
    await vi.waitFor(() => expect(exec.entered).toHaveLength(1));
    call.cancel();
    await expectGrpcError(answered, CANCELLED, undefined);
    await vi.waitFor(() => expect(exec.entered[0]?.aborted).toBe(true));
    await expectFree(loader);
  });

  it('a Session stream that never sends its open message is ended with 10019 after the idle timeout', async () => {
    const { loader, client } = await start({ plugin: { path: `${FIXTURES}/slow.ts` }, limits: { session_idle_timeout_ms: 200 } });
    const session = openSession(client);
    await expectGrpcError(session.done, DEADLINE_EXCEEDED, 10019);
    await expectFree(loader);
  });

  it('stop() finishes even with a session stream still waiting for its open message', async () => {
    const { loader, client } = await start({
      plugin: { path: `${FIXTURES}/slow.ts` },
      limits: { session_idle_timeout_ms: 60_000, drain_grace_ms: 100 },
    });
    const session = openSession(client);
    session.done.catch(() => undefined);
    await loader.stop();
    expect(loader.health.state).toBe('stopped');
  });
});

describe('plugin.concurrency', () => {
  it('bounds overlapping execs to 2 while capacity admits 6 calls, and all succeed', async () => {
    const exec = gate();
    // Execs inside the plugin now (past the slot, at the gate or just through it), and the most ever.
    const inside = { now: 0, max: 0 };
    const counted = {
      ...exec,
      async fn(signal: AbortSignal) {
        inside.max = Math.max(inside.max, ++inside.now);
        try {
          await exec.fn(signal);
        } finally {
          inside.now--;
        }
      },
    };
    const { loader, client } = await start({
      plugin: { path: GATED, concurrency: 2 },
      wrapper: useGates({ exec: counted }),
      limits: { capacity: 8 },
    });
    const calls = [0, 1, 2, 3, 4, 5].map((i) => infer(client, { service: 'gated', items: [textItem(`n${i}`)] }));
    // All six are admitted while two hold the plugin: the other four wait for an exec slot, not
    // for admission (and are not refused).
    await vi.waitFor(() => expect(loader.dataplane.admission.inUse).toBe(6));
    expect(exec.entered).toHaveLength(2);
    exec.open();
    const results = await Promise.all(calls);
    expect(results.map((r) => r.items[0]?.data.toString())).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5']);
    expect(exec.entered).toHaveLength(6);
    expect(inside).toEqual({ now: 0, max: 2 });
    await expectFree(loader);
  });
});

describe('drain', () => {
  it('in-flight calls finish, new calls get UNAVAILABLE / 10101 while it drains', async () => {
    const exec = gate();
    const { loader, client } = await start({ plugin: { path: GATED }, wrapper: useGates({ exec }) });
    const inflight = infer(client, { service: 'gated', items: [textItem('last one')] });
    await vi.waitFor(() => expect(exec.entered).toHaveLength(1));
    const stopping = loader.stop();
    // The in-flight call holds the drain open until the gate opens: the loader still listens.
    const details = await expectGrpcError(infer(client, { service: 'gated', items: [textItem('too late')] }), UNAVAILABLE, 10101);
    expect(details).toMatch(/draining/);
    await expectGrpcError(runSession(client, { service: 'gated' }, [frame('too late')]), UNAVAILABLE, 10101);
    expect(loader.dataplane.admission.inUse).toBe(1);
    exec.open();
    expect((await inflight).items[0]?.data.toString()).toBe('last one');
    await stopping;
    await expectFree(loader);
    // Stopped: nothing listens any more, so the refusal comes from the client's channel.
    await expectGrpcError(infer(client, { service: 'gated', items: [textItem('gone')] }), UNAVAILABLE, undefined);
  });

  it('a session still open when limits.drain_grace_ms runs out is ended with UNAVAILABLE / 10101', async () => {
    const { loader, client } = await start({ limits: { drain_grace_ms: 100 } });
    const session = openSession(client);
    session.write({ service: 'echo', items: frame('a') });
    await session.received(1);
    const stopping = loader.stop();
    expect(await expectGrpcError(session.done, UNAVAILABLE, 10101)).toMatch(/shutting down/);
    await stopping;
    await expectFree(loader);
  });
});
