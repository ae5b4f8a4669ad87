/**
 * aiges.v1.Loader/WatchLoad on a real loader: a report at once, after every admission change
 * (coalesced), a heartbeat, not-ready while draining, and the stream's end at stop without
 * holding the server's shutdown.
 */
import type * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { infer, type LoaderClient } from '../../loader/tools/client.js';
import { HEARTBEAT_MS, REPORT_MIN_INTERVAL_MS } from '../../loader/server/grpc-load.js';
import type { LoadReport__Output } from '../../proto/gen/aiges/v1/LoadReport.js';
import { FIXTURES, gate, openSession, serve, textItem, useGates, type Served } from './grpc-helpers.js';

const GATED = `${FIXTURES}/http-gated.ts`;

interface Watch {
  call: grpc.ClientReadableStream<LoadReport__Output>;
  reports: { at: number; report: LoadReport__Output }[];
  ended: Promise<void>;
  /** Resolves with the first report (from now on, or already received) that `match` accepts. */
  until(match: (r: LoadReport__Output) => boolean): Promise<LoadReport__Output>;
}

function watchLoad(client: LoaderClient): Watch {
  const call = client.WatchLoad({});
  const reports: Watch['reports'] = [];
  const waiters: (() => void)[] = [];
  call.on('data', (report: LoadReport__Output) => {
    reports.push({ at: performance.now(), report });
    for (const w of waiters.splice(0)) w();
  });
  const ended = new Promise<void>((resolve, reject) => {
    call.on('end', resolve);
    call.on('error', reject);
  });
  ended.catch(() => undefined);
  return {
    call,
    reports,
    ended,
    until(match) {
      const from = reports.length;
      return new Promise((resolve) => {
        const check = () => {
          const hit = reports.slice(Math.max(0, from - 1)).find((r) => match(r.report));
          if (hit !== undefined) resolve(hit.report);
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe('WatchLoad', () => {
  it('reports at once, while a call is held, and after it ends', async () => {
    const exec = gate();
    served = await serve({ plugin: { path: GATED }, wrapper: useGates({ exec }), limits: { capacity: 3 } });
    const watch = watchLoad(served.client);
    expect(await watch.until(() => true)).toEqual({ inflight: 0, sessions: 0, capacity: 3, ready: true, instanceId: '' });

    const held = infer(served.client, { service: 'gated', items: [textItem('x')] });
    await watch.until((r) => r.inflight === 1);
    const session = openSession(served.client);
    session.write({ service: 'gated', items: [{ ...textItem('open'), status: 0 }] });
    await watch.until((r) => r.inflight === 1 && r.sessions === 1);

    exec.open();
    await held;
    session.call.end();
    await session.done;
    expect(await watch.until((r) => r.inflight === 0 && r.sessions === 0)).toMatchObject({ ready: true });
    watch.call.cancel();
  });

  it('coalesces a burst of changes and sends a heartbeat when nothing changes', async () => {
    served = await serve({ limits: { capacity: 64 } });
    const watch = watchLoad(served.client);
    await watch.until(() => true);
    const from = watch.reports.length;
    const t0 = performance.now();
    // 40 calls acquire and release 80 times in all.
    await Promise.all(Array.from({ length: 40 }, () => infer(served!.client, { service: 'echo', items: [textItem('x')] })));
    const last = await watch.until((r) => r.inflight === 0);
    expect(last.inflight).toBe(0);
    const burst = watch.reports.slice(from);
    const elapsed = performance.now() - t0;
    expect(burst.length).toBeLessThanOrEqual(Math.ceil(elapsed / REPORT_MIN_INTERVAL_MS) + 2);
    expect(burst.length).toBeLessThan(80);

    // Quiet now: the next two reports are heartbeats, about a second apart.
    const quiet = watch.reports.length;
    await vi.waitFor(() => expect(watch.reports.length).toBeGreaterThanOrEqual(quiet + 2), { timeout: 5_000 });
    const [a, b] = watch.reports.slice(quiet) as [Watch['reports'][0], Watch['reports'][0]];
    expect(b.at - a.at).toBeGreaterThan(HEARTBEAT_MS * 0.8);
    expect(b.at - a.at).toBeLessThan(HEARTBEAT_MS * 2);
    watch.call.cancel();
  });

  it('says not ready while draining, then ends; the stream does not hold the stop', async () => {
    const exec = gate();
    const s = await serve({ plugin: { path: GATED }, wrapper: useGates({ exec }) });
    const watch = watchLoad(s.client);
    const held = infer(s.client, { service: 'gated', items: [textItem('x')] });
    await watch.until((r) => r.inflight === 1);

    const stopped = s.loader.stop();
    expect(await watch.until((r) => !r.ready)).toMatchObject({ inflight: 1, ready: false });
    exec.open();
    await held;
    const t0 = performance.now();
    await watch.ended;
    await stopped;
    // The loader cuts streams still open 1 s after the drain; this one ended by itself.
    expect(performance.now() - t0).toBeLessThan(900);
    expect(watch.reports.at(-1)?.report).toMatchObject({ inflight: 0, ready: false });
    s.client.close();
  });
});
