/**
 * `[plugin] isolation = "worker"` (loader/plugin/worker/): a TS plugin on a pool of worker
 * threads behind an ordinary Wrapper. Real loaders on port 0, real gRPC and HTTP.
 */
import { randomBytes } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { PluginRegistry } from '../../loader/plugin/registry.js';
import { infer, runSession } from '../../loader/tools/client.js';
import { ResultBuffer } from '../../loader/dataplane/results.js';
import { RESULT_WINDOW } from '../../loader/plugin/worker/wire.js';
import { Codes } from '../../plugins/errors.js';
import type { DataItem } from '../../plugins/types.js';
import { createLoaderClient, type LoaderClient } from '../../loader/tools/client.js';
import { expectFree, expectGrpcError, openSession, textItem } from '../server/grpc-helpers.js';
import { b64, call, get, textBody, unb64, url } from '../server/http-helpers.js';
import { status as GrpcStatus } from '@grpc/grpc-js';

const FIXTURES = 'test/fixtures/plugins';

interface Served {
  loader: Loader;
  client: LoaderClient;
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A real loader with `plugin` on worker threads, its log lines kept, and a gRPC client. */
async function serveWorker(path: string, plugin: Record<string, unknown> = {}, sections: Record<string, Record<string, unknown>> = {}) {
  const lines: Record<string, unknown>[] = [];
  const config = loadConfig({
    overrides: {
      server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
      plugin: { path, isolation: 'worker', ...plugin },
      log: { level: 'info' },
      ...sections,
    },
  });
  const loader = new Loader(config, {
    defaultMetrics: false,
    logDestination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  await loader.start();
  const client = createLoaderClient(`127.0.0.1:${loader.grpcPort}`);
  return {
    loader,
    client,
    lines,
    async close() {
      client.close();
      await loader.stop();
    },
  } satisfies Served;
}

const item = (key: string, data: Buffer, type: DataItem['type'] = 4): DataItem => ({
  key,
  type,
  status: 3,
  encoding: '',
  attributes: {},
  data,
});

async function scrape(loader: Loader, series: string): Promise<number> {
  const text = await (await fetch(url(loader, '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('loading', () => {
  const registry = () => new PluginRegistry(pino({ level: 'silent' }), () => undefined);
  const options = (path: string, kind?: string) => ({
    path,
    kind,
    plugin: { isolation: 'worker' as const },
    config: {},
    concurrency: 2,
    initTimeoutMs: 10_000,
  });

  it('refuses a plugin of another kind with 10901, naming the isolation', async () => {
    await expect(registry().load(options('demo/echo/wrapper.ts', 'native'))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringMatching(/isolation "worker" runs TS plugins \(kind ts\) only; .* is a native plugin/),
    });
  });

  it('a module that is no wrapper, or an init that throws in the threads, fails with 10901', async () => {
    await expect(registry().load(options(`${FIXTURES}/wrong-export.ts`))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringContaining('defineWrapper'),
    });
    await expect(registry().load(options(`${FIXTURES}/throws-init.ts`))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringContaining('model file missing: /nowhere/model.bin'),
    });
  });
});

describe('a CPU-bound plugin', () => {
  let busy: Served;
  const started = new BroadcastChannel('aiges-test-busy');
  const startedSids: string[] = [];
  const waiters = new Map<string, () => void>();
  started.onmessage = (event) => {
    const sid = ((event as { data: unknown }).data as { started: string }).started;
    startedSids.push(sid);
    waiters.get(sid)?.();
  };
  const hasStarted = (sid: string) =>
    startedSids.includes(sid) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(sid, resolve));
  const run = (sid: string, ms: number, big = 0) =>
    infer(busy.client, { service: 'busy', params: { sid, ms: String(ms), big: String(big) }, items: [textItem(sid)] });
  const attrs = (res: Awaited<ReturnType<typeof run>>) => res.items.find((i) => i.key === 'run')?.attributes ?? {};

  beforeAll(async () => {
    busy = await serveWorker(`${FIXTURES}/busy.ts`, { concurrency: 2 });
  });
  afterAll(async () => {
    started.close();
    await busy?.close();
  });

  it('health and metrics answer while it spins (before it is done)', async () => {
    let done = false;
    const spinning = run('spin', 1500).finally(() => (done = true));
    await hasStarted('spin');
    expect((await get(busy.loader, '/v2/health/live')).status).toBe(200);
    expect(done).toBe(false);
    const metrics = await fetch(url(busy.loader, '/metrics'));
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('aiges_inflight_requests{service="busy"} 1');
    expect(done).toBe(false);
    await spinning;
  });

  it('two calls spin at once on two threads (their spans overlap)', async () => {
    const [a, b] = await Promise.all([run('p1', 600), run('p2', 600)]);
    const [x, y] = [attrs(a), attrs(b)];
    expect(x['thread']).not.toBe(y['thread']);
    expect(Number(x['started'])).toBeLessThan(Number(y['ended']));
    expect(Number(y['started'])).toBeLessThan(Number(x['ended']));
  });

  it("ctx.log and ctx.meter reach the loader's log and metrics; init ran in every thread", async () => {
    await run('logged', 0);
    const line = busy.lines.find((l) => l['msg'] === 'busy run' && l['sid'] === 'logged');
    expect(line).toMatchObject({ service: 'busy', level: 30 });
    expect(await scrape(busy.loader, 'aiges_plugin_meter_total{service="busy",key="runs"}')).toBeGreaterThan(0);
    const inits = busy.lines.filter((l) => l['msg'] === 'busy init');
    expect(new Set(inits.map((l) => l['thread'])).size).toBe(2);
    expect(inits.every((l) => l['service'] === 'busy')).toBe(true);
  });

  it('an output Buffer comes back moved, not copied', async () => {
    const res = await run('big', 0, 1024 * 1024);
    const big = res.items.find((i) => i.key === 'big')?.data;
    expect(big?.length).toBe(1024 * 1024);
    expect(big?.every((b) => b === 7)).toBe(true);
    await vi.waitFor(async () => expect(await scrape(busy.loader, 'aiges_plugin_meter_total{service="busy",key="big_moved"}')).toBe(1));
    expect(await scrape(busy.loader, 'aiges_plugin_meter_total{service="busy",key="big_kept"}')).toBe(0);
  });

  it('a hot [wrapper] change inits a second set in every thread; the retired one is finalised in every thread', async () => {
    const next = await busy.loader.registry.reinit('busy', { config: { tag: 'b' }, concurrency: 2, initTimeoutMs: 10_000 });
    const old = busy.loader.registry.put(next)!;
    expect(attrs(await run('tagged', 0))['tag']).toBe('b');
    await old.idle(5_000);
    expect(await old.finalise(5_000)).toBeUndefined();
    const finis = busy.lines.filter((l) => l['msg'] === 'busy fini');
    expect(new Set(finis.map((l) => l['thread'])).size).toBe(2);
    expect(attrs(await run('still-b', 0))['tag']).toBe('b');
  });
});

describe('calls through worker threads', () => {
  let echo: Served;
  beforeAll(async () => {
    echo = await serveWorker('demo/echo', { concurrency: 2 });
  });
  afterAll(async () => {
    await echo?.close();
  });

  it('once and session over gRPC', async () => {
    const res = await infer(echo.client, { service: 'echo', items: [textItem('hello')] });
    expect(res.items[0]?.data.toString()).toBe('hello');
    const frames = ['a', 'b', 'c'].map((t) => [{ ...textItem(t), status: 1 as const }]);
    const { responses } = await runSession(echo.client, { service: 'echo', items: [{ ...textItem('open'), status: 0 as const }] }, frames);
    expect(responses.flatMap((r) => r.items.map((i) => i.data.toString()))).toEqual(['open', 'a', 'b', 'c']);
    expect(responses.at(-1)?.status).toBe(2);
    await expectFree(echo.loader);
  });

  it('once and session over HTTP (AIGes JSON)', async () => {
    const once = await call(echo.loader, textBody('over http'));
    expect(once.status).toBe(200);
    expect(unb64(once.body.payload.text.text)).toBe('over http');
    const frame = (status: number, text: string, sid?: string) => ({
      header: { app_id: 'test', status, ...(sid === undefined ? {} : { sid }) },
      payload: { text: { encoding: 'utf8', status, text: b64(text) } },
    });
    const first = await call(echo.loader, frame(0, 'one'));
    const sid = first.body.header.sid as string;
    expect(unb64(first.body.payload.text.text)).toBe('one');
    expect(unb64((await call(echo.loader, frame(1, 'two', sid))).body.payload.text.text)).toBe('two');
    const last = await call(echo.loader, frame(2, 'three', sid));
    expect(last.body.header).toMatchObject({ code: 0, sid, status: 2 });
    expect(unb64(last.body.payload.text.text)).toBe('three');
    await expectFree(echo.loader);
  });

  it('a 4 MiB payload round-trips byte for byte over gRPC', async () => {
    const big = randomBytes(4 * 1024 * 1024);
    const res = await infer(echo.client, { service: 'echo', items: [{ key: 'data', type: 4, status: 3, data: big }] });
    expect(res.items[0]?.data.equals(big)).toBe(true);
  });

  it('a Buffer that owns its memory is moved to the thread; slices of shared ones are copied, intact on both sides', async () => {
    const big = randomBytes(4 * 1024 * 1024);
    const expected = Buffer.from(big);
    const [out] = await echo.loader.dataplane.infer({ service: 'echo', params: {}, headers: {}, items: [item('data', big)] });
    expect(out?.data.equals(expected)).toBe(true);
    expect(big.length).toBe(0); // moved: the loader's view of it is detached

    const a = Buffer.from('pooled-a');
    const parent = randomBytes(1024 * 1024);
    const slice = parent.subarray(1000, 300_000);
    expect(a.buffer.byteLength).toBeGreaterThan(a.length); // a slice of Node's pool
    const keep = [Buffer.from(a), Buffer.from(slice), Buffer.from(parent)];
    const items = [item('text', a, 0), item('data', slice)];
    const outs = await echo.loader.dataplane.infer({ service: 'echo', params: {}, headers: {}, items });
    expect(outs.map((o) => o.data.equals(o.key === 'text' ? keep[0]! : keep[1]!))).toEqual([true, true]);
    expect([a.equals(keep[0]!), slice.equals(keep[1]!), parent.equals(keep[2]!)]).toEqual([true, true, true]);
  });

  it('a deadline reaches the thread: a plugin that honours its signal gives its exec slot back at once', async () => {
    const late = echo.loader.dataplane.infer(
      { service: 'echo', params: { delay_ms: '30000' }, headers: {}, items: [item('text', Buffer.from('late'), 0)] },
      { deadline: Date.now() + 50 },
    );
    await expect(late).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    const slots = echo.loader.registry.get('echo').execSlots;
    await vi.waitFor(() => expect(slots.available).toBe(slots.slots));
  });
});

describe('faults in a worker thread', () => {
  let faults: Served;
  beforeAll(async () => {
    faults = await serveWorker(`${FIXTURES}/faults.ts`, { concurrency: 1 });
  });
  afterAll(async () => {
    await faults?.close();
  });
  const run = (params: Record<string, string>) => infer(faults.client, { service: 'faults', params, items: [textItem('x')] });
  const total = (kind: string) => scrape(faults.loader, `aiges_plugin_faults_total{service="faults",kind="${kind}"}`);

  it('an unhandled rejection or a timer throw fails its call with 10909, logged and counted; the next call is served', async () => {
    const rejected = await expectGrpcError(run({ fault: 'rejection', hold: 'true', sid: 'w-rej' }), GrpcStatus.INTERNAL, Codes.PLUGIN_EXEC);
    expect(rejected).toContain('plugin fault (unhandled rejection): a rejection nobody awaits');
    const thrown = await expectGrpcError(run({ fault: 'timer', hold: 'true', sid: 'w-timer' }), GrpcStatus.INTERNAL, Codes.PLUGIN_EXEC);
    expect(thrown).toContain('plugin fault (uncaught exception): thrown inside a timer');
    expect(faults.lines.find((l) => l['kind'] === 'unhandled_rejection')).toMatchObject({
      service: 'faults',
      sid: 'w-rej',
      isolation: 'worker',
      err: { message: 'a rejection nobody awaits' },
    });
    // The timer's error carries no sid: the call it failed was the only one running there.
    expect(faults.lines.find((l) => l['kind'] === 'uncaught_exception')).toMatchObject({ service: 'faults', sid: 'w-timer' });
    expect(await total('unhandled_rejection')).toBe(1);
    expect(await total('uncaught_exception')).toBe(1);
    expect((await run({ sid: 'after' })).items[0]?.data.toString()).toBe('x');
    expect((await get(faults.loader, '/v2/health/ready')).status).toBe(200);
  });

  it('a thread that dies answers its call 10109, is counted, and is replaced: the next call succeeds', async () => {
    const details = await expectGrpcError(run({ fault: 'exit', sid: 'w-exit' }), GrpcStatus.INTERNAL, Codes.CRASH);
    expect(details).toContain('worker thread died');
    expect(await total('worker_exit')).toBe(1);
    expect((await run({ sid: 'replaced' })).items[0]?.data.toString()).toBe('x');
    await vi.waitFor(() => expect(faults.loader.health.ready).toBe(true));
  });

  it('a session pinned to a thread: a fault there fails it with 10909; the thread dying fails it with 10109', async () => {
    const session = (frame: string) => {
      const s = openSession(faults.client);
      s.write({ service: 'faults', items: [{ ...textItem('open'), status: 0 }] });
      s.write({ items: [{ ...textItem(frame), status: 1 }] });
      return s;
    };
    const faulted = session('timer');
    await expectGrpcError(faulted.done, GrpcStatus.INTERNAL, Codes.PLUGIN_EXEC);
    expect(faulted.responses.map((r) => r.items[0]?.data.toString())).toEqual(['open']);
    const died = session('exit');
    expect(await expectGrpcError(died.done, GrpcStatus.INTERNAL, Codes.CRASH)).toContain('worker thread');
    await expectFree(faults.loader);
    // Counted once the pool has taken the thread out; a call sent before that may still reach it.
    await vi.waitFor(async () => expect(await total('worker_exit')).toBe(2));
    expect((await run({ sid: 'after-sessions' })).items[0]?.data.toString()).toBe('x');
  });
});

describe('session backpressure across the thread', () => {
  let flood: Served;
  beforeAll(async () => {
    flood = await serveWorker(`${FIXTURES}/flood.ts`, { concurrency: 1 });
  });
  afterAll(async () => {
    await flood?.close();
  });
  const pushed = () => scrape(flood.loader, 'aiges_plugin_meter_total{service="flood",key="pushed"}');

  it('a client that does not read holds the plugin back; reading lets it finish, every batch in order', async () => {
    const session = await flood.loader.dataplane.openSession({ service: 'flood', params: { n: '200' }, headers: {} });
    const sink = new ResultBuffer(1); // pauses the session after each batch until taken
    sink.onResume(() => session.resume());
    session.start(sink);
    let written = false;
    const writing = session.write([item('text', Buffer.from('go'), 0)])!.then(() => (written = true));
    // At most: the batch the sink holds, a window in flight, the plugin's queue, the push it awaits.
    const bound = 1 + RESULT_WINDOW + 2 + 1;
    await vi.waitFor(async () => expect(await pushed()).toBeGreaterThanOrEqual(RESULT_WINDOW));
    // A round trip through the same thread (its control port) after the window filled.
    const probe = await flood.loader.dataplane.openSession({ service: 'flood', params: { n: '1' }, headers: {} });
    probe.cancel();
    expect(await pushed()).toBeLessThanOrEqual(bound);
    expect(written).toBe(false);
    const got: string[] = [];
    while (!written) {
      await sink.changed();
      for (const i of sink.take().items) got.push(i.data.toString());
      await Promise.race([writing, sink.changed()]);
    }
    await session.end();
    for (;;) {
      for (const i of sink.take().items) got.push(i.data.toString());
      if (sink.done) break;
      await sink.changed();
    }
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
  });
});
