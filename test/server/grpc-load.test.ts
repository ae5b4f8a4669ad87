/**
 * aiges.v1.Loader/WatchLoad. The stream's timing contract (a report at once, changes coalesced
 * to one report per REPORT_MIN_INTERVAL_MS carrying the latest state, a heartbeat after
 * HEARTBEAT_MS of quiet, a slow reader given the latest state on drain, the end at `stopped`) is
 * checked on `watchLoad` itself with fake timers, step by step. On a real loader: a report at
 * once, after every admission change, a heartbeat while nothing changes, not-ready while
 * draining, and the stream's end at stop without the server's shutdown having to force it.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { aigesCodeOf, infer, type LoaderClient } from '../../loader/tools/client.js';
import { Codes } from '../../loader/errors.js';
import { Admission } from '../../loader/dataplane/admission.js';
import { HealthState } from '../../loader/health.js';
import { HEARTBEAT_MS, REPORT_MIN_INTERVAL_MS, watchLoad } from '../../loader/server/grpc-load.js';
import type { LoadReport, LoadReport__Output } from '../../proto/gen/aiges/v1/LoadReport.js';
import type { WatchLoadRequest__Output } from '../../proto/gen/aiges/v1/WatchLoadRequest.js';
import { FIXTURES, gate, openSession, serve, textItem, useGates, type Served } from './grpc-helpers.js';

const GATED = `${FIXTURES}/http-gated.ts`;

/** What `watchLoad` is given as its call: a writable stream that records reports and can refuse more. */
class FakeCall extends EventEmitter {
  readonly written: LoadReport[] = [];
  ended = false;
  /** While true, write() says the stream is full (a slow reader). */
  full = false;

  write(report: LoadReport): boolean {
    this.written.push(report);
    return !this.full;
  }

  end(): void {
    this.ended = true;
  }

  asCall(): grpc.ServerWritableStream<WatchLoadRequest__Output, LoadReport> {
    return this as unknown as grpc.ServerWritableStream<WatchLoadRequest__Output, LoadReport>;
  }
}

/** `watchLoad` on a fake call, over a real Admission and HealthState, with the clock in the test's hands. */
function fakeWatch(capacity = 4) {
  const admission = new Admission(capacity);
  const health = new HealthState();
  health.set('serving');
  const call = new FakeCall();
  watchLoad(call.asCall(), { admission, health, instanceId: 'i-1' });
  return { admission, health, call, reports: call.written };
}

describe('watchLoad (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports at once; a burst of changes becomes one report, REPORT_MIN_INTERVAL_MS after the last, with the latest state', () => {
    vi.useFakeTimers();
    const { admission, reports } = fakeWatch(64);
    expect(reports).toEqual([{ inflight: 0, sessions: 0, capacity: 64, ready: true, instanceId: 'i-1' }]);

    // 40 calls take a slot and 30 give it back: 70 changes, none of which writes from inside take/give.
    for (let i = 0; i < 40; i++) admission.take('once');
    for (let i = 0; i < 30; i++) admission.give('once');
    expect(reports).toHaveLength(1);
    vi.advanceTimersByTime(REPORT_MIN_INTERVAL_MS - 1);
    expect(reports).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(reports).toHaveLength(2);
    expect(reports[1]).toMatchObject({ inflight: 10 });

    // Changes right after a report wait out the rest of the interval, then go as one.
    vi.advanceTimersByTime(5);
    for (let i = 0; i < 10; i++) admission.give('once');
    vi.advanceTimersByTime(REPORT_MIN_INTERVAL_MS - 5 - 1);
    expect(reports).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(reports).toHaveLength(3);
    expect(reports[2]).toMatchObject({ inflight: 0 });

    // A change after a quiet spell longer than the interval is reported on the next timer turn.
    vi.advanceTimersByTime(REPORT_MIN_INTERVAL_MS * 5);
    expect(reports).toHaveLength(3);
    admission.take('session');
    expect(reports).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(reports).toHaveLength(4);
    expect(reports[3]).toMatchObject({ inflight: 0, sessions: 1 });
  });

  it('sends a heartbeat HEARTBEAT_MS after the last report when nothing changes, and not before', () => {
    vi.useFakeTimers();
    const { admission, reports } = fakeWatch();
    vi.advanceTimersByTime(HEARTBEAT_MS - 1);
    expect(reports).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(reports).toHaveLength(2);
    expect(reports[1]).toEqual(reports[0]);

    // A report for a change restarts the heartbeat's count.
    vi.advanceTimersByTime(HEARTBEAT_MS / 2);
    admission.take('once');
    vi.advanceTimersToNextTimer();
    expect(reports).toHaveLength(3);
    vi.advanceTimersByTime(HEARTBEAT_MS - 1);
    expect(reports).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(reports).toHaveLength(4);
    expect(reports[3]).toMatchObject({ inflight: 1 });
  });

  it('gives a slow reader the latest state once it drains, not every change', () => {
    vi.useFakeTimers();
    const { admission, call, reports } = fakeWatch();
    call.full = true;
    admission.take('once');
    vi.advanceTimersByTime(REPORT_MIN_INTERVAL_MS);
    expect(reports).toHaveLength(2); // the write the stream refused
    admission.take('once');
    admission.take('session');
    vi.advanceTimersByTime(HEARTBEAT_MS * 3);
    expect(reports).toHaveLength(2);

    call.full = false;
    call.emit('drain');
    expect(reports).toHaveLength(3);
    expect(reports[2]).toMatchObject({ inflight: 2, sessions: 1 });
  });

  it('says not ready while draining; at `stopped` sends a last report, ends the stream and leaves no timer', () => {
    vi.useFakeTimers();
    const { admission, health, call, reports } = fakeWatch();
    health.set('draining');
    vi.advanceTimersByTime(REPORT_MIN_INTERVAL_MS);
    expect(reports.at(-1)).toMatchObject({ ready: false });
    admission.take('once');
    const before = reports.length;
    health.set('stopped');
    expect(call.ended).toBe(true);
    expect(reports).toHaveLength(before + 1);
    expect(reports.at(-1)).toMatchObject({ inflight: 1, ready: false });
    expect(vi.getTimerCount()).toBe(0);
    admission.take('once');
    vi.advanceTimersByTime(HEARTBEAT_MS * 3);
    expect(reports).toHaveLength(before + 1);
  });

  it('stops reporting when the client cancels', () => {
    vi.useFakeTimers();
    const { admission, call, reports } = fakeWatch();
    call.emit('cancelled');
    expect(vi.getTimerCount()).toBe(0);
    admission.take('once');
    vi.advanceTimersByTime(HEARTBEAT_MS * 3);
    expect(reports).toHaveLength(1);
    expect(call.ended).toBe(false);
  });
});

interface Watch {
  call: grpc.ClientReadableStream<LoadReport__Output>;
  reports: LoadReport__Output[];
  ended: Promise<void>;
  /** Resolves with the first report (from now on, or the latest already received) that `match` accepts. */
  until(match: (r: LoadReport__Output) => boolean): Promise<LoadReport__Output>;
}

function watchLoadOf(client: LoaderClient): Watch {
  const call = client.WatchLoad({});
  const reports: LoadReport__Output[] = [];
  const waiters: (() => void)[] = [];
  call.on('data', (report: LoadReport__Output) => {
    reports.push(report);
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
          const hit = reports.slice(Math.max(0, from - 1)).find(match);
          if (hit !== undefined) resolve(hit);
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

let served: Served | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await served?.close();
  served = undefined;
});

describe('WatchLoad on a real loader', () => {
  it('reports at once, while a call is held, and after it ends', async () => {
    const exec = gate();
    served = await serve({ plugin: { path: GATED }, wrapper: useGates({ exec }), limits: { capacity: 3 } });
    const watch = watchLoadOf(served.client);
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

  it('refuses a request message that does not decode with 10009, as every method does, instead of reporting', async () => {
    served = await serve();
    const raw = new grpc.Client(served.address, grpc.credentials.createInsecure());
    const identity = (b: Buffer) => b;
    // A lone 0 byte: field number 0, which no protobuf message may hold.
    const call = raw.makeServerStreamRequest('/aiges.v1.Loader/WatchLoad', identity, identity, Buffer.from([0]));
    const ending = await new Promise<grpc.ServiceError | 'a report'>((resolve) => {
      call.on('data', () => resolve('a report'));
      call.on('error', resolve);
    });
    call.cancel();
    raw.close();
    expect(
      ending === 'a report' ? ending : { status: grpc.status[ending.code], code: aigesCodeOf(ending), details: ending.details },
    ).toEqual({
      status: 'INVALID_ARGUMENT',
      code: Codes.INVALID_DATA,
      details: expect.stringMatching(/^malformed protobuf message/),
    });
  });

  it('keeps reporting while nothing changes: a heartbeat', async () => {
    served = await serve({ limits: { capacity: 64 } });
    const loader = served.loader;
    let changes = 0;
    const offAdmission = loader.dataplane.admission.onChange(() => changes++);
    const offHealth = loader.health.onChange(() => changes++);
    const watch = watchLoadOf(served.client);
    const first = await watch.until(() => true);
    await watch.until(() => watch.reports.length >= 2);
    const heartbeat = watch.reports[1];
    offAdmission();
    offHealth();
    // Nothing changed since the report sent at once: the second report can only be a heartbeat.
    expect(changes).toBe(0);
    expect(heartbeat).toEqual(first);
    expect(first).toEqual({ inflight: 0, sessions: 0, capacity: 64, ready: true, instanceId: '' });
    watch.call.cancel();
  });

  it('says not ready while draining, then ends by itself: the stop never has to force the gRPC shutdown', async () => {
    const forced = vi.spyOn(grpc.Server.prototype, 'forceShutdown');
    const exec = gate();
    const s = await serve({ plugin: { path: GATED }, wrapper: useGates({ exec }) });
    const watch = watchLoadOf(s.client);
    const held = infer(s.client, { service: 'gated', items: [textItem('x')] });
    await watch.until((r) => r.inflight === 1);

    const stopped = s.loader.stop();
    expect(await watch.until((r) => !r.ready)).toMatchObject({ inflight: 1, ready: false });
    exec.open();
    await held;
    // The stream ends with OK (a forced shutdown would cancel it), and the loader's stop never
    // reached its forced shutdown of streams still open.
    await watch.ended;
    await stopped;
    expect(forced).not.toHaveBeenCalled();
    expect(watch.reports.at(-1)).toMatchObject({ inflight: 0, ready: false });
    s.client.close();
  });
});
