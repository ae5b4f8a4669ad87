/**
 * The balancer in process, in front of real in-process loaders found through an in-memory
 * Discovery: pass-through of payloads and errors, spreading by capacity, session stickiness,
 * the one retry, ejection (stopped, silent) and a graceful loader stop under load.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { createLoaderClient, infer, metadata, type InferResponse__Output } from '../../../loader/tools/client.js';
import { SILENCE_MS } from '../../../polaris/balancer/endpoint.js';
import { HEARTBEAT_MS } from '../../../loader/server/grpc-load.js';
import { createLogger } from '../../../loader/log.js';
import { loadLoaderProto } from '../../../proto/load.js';
import type { HealthCheckResponse__Output } from '../../../proto/gen/grpc/health/v1/HealthCheckResponse.js';
import { bindGrpc } from '../../../loader/server/grpc.js';
import { FIXTURES, expectGrpcError, gate, healthClient, openSession, rawUnary, textItem, useGates } from '../../server/grpc-helpers.js';
import { balancerFixtures, boundedLoad, echoCall, onceCalls, openSessions, staleView, startBalancerWith } from './helpers.js';
import { RELAY_MAX_BYTES } from '../../../polaris/balancer/forward.js';
import { FakeDiscovery, record } from '../fake-discovery.js';

const SLOW = `${FIXTURES}/slow.ts`;
/** grpc.health.v1 ServingStatus values, as the client decodes them. */
const SERVING = 1;
const NOT_SERVING = 2;
const GATED = `${FIXTURES}/http-gated.ts`;

const { cleanups, loader, balancer, live } = balancerFixtures();

describe('forwarding', () => {
  it('passes payloads, errors and their aiges-code trailers through untouched', async () => {
    const a = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', a.grpcPort, 64));
    const lb = await balancer(discovery, ['echo']);

    const big = Buffer.alloc(2 * 1024 * 1024, 7);
    const res = await infer(lb.client, { service: 'echo', items: [{ key: 'data', type: 4, status: 3, data: big }] });
    expect(res.items[0]?.data.equals(big)).toBe(true);
    // Empty service: the balancer's only service.
    expect((await infer(lb.client, { service: '', items: [textItem('hi')] })).items[0]?.data.toString()).toBe('hi');
    // The loader's own error, status and trailer as they are.
    await expectGrpcError(infer(lb.client, { service: 'echo', params: { nope: '1' }, items: [] }), grpc.status.INVALID_ARGUMENT, 10106);
    // Metadata goes through as well.
    expect((await metadata(lb.client, 'echo')).service).toBe('echo');
    // The balancer's own: a service it does not front, bytes that are not a message.
    await expectGrpcError(infer(lb.client, { service: 'other', items: [] }), grpc.status.NOT_FOUND, 10200);
    await expectGrpcError(
      rawUnary(lb.address, '/aiges.v1.Loader/Infer', Buffer.from([0x0a, 0x50, 0x41])),
      grpc.status.INVALID_ARGUMENT,
      10009,
    );
  });

  it("answers a session's errors: its service unknown, or the stream ended before its open message", async () => {
    const a = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', a.grpcPort, 64));
    const lb = await balancer(discovery, ['echo']);
    const unknown = openSession(lb.client);
    unknown.write({ service: 'other', items: [{ ...textItem('open'), status: 0 }] });
    await expectGrpcError(unknown.done, grpc.status.NOT_FOUND, 10200);
    const empty = openSession(lb.client);
    empty.call.end();
    await expectGrpcError(empty.done, grpc.status.FAILED_PRECONDITION, 10003);
    // The loader's own session errors pass through: a param its schema refuses.
    const refused = openSession(lb.client);
    refused.write({ service: 'echo', params: { nope: '1' }, items: [] });
    await expectGrpcError(refused.done, grpc.status.INVALID_ARGUMENT, 10106);
  });

  it('routes by the aiges-service request metadata when a polaris service name is not the plugin id', async () => {
    const a = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo-prod', a.grpcPort, 64));
    const lb = await balancer(discovery, ['echo-prod', 'other']);
    const md = new grpc.Metadata();
    md.set('aiges-service', 'echo-prod');
    const res = await new Promise<InferResponse__Output>((resolve, reject) =>
      lb.client.Infer({ service: '', items: [textItem('by metadata')] }, md, (err, r) => (err ? reject(err) : resolve(r!))),
    );
    expect(res.items[0]?.data.toString()).toBe('by metadata');
  });

  it("carries the client's deadline and cancellation to the instance", async () => {
    const a = await loader({ plugin: { path: SLOW } });
    const discovery = new FakeDiscovery();
    discovery.add(record('slow', a.grpcPort, 64));
    const lb = await balancer(discovery, ['slow']);
    const run = a.dataplane.infer.bind(a.dataplane);
    const arrived: number[] = [];
    const infers = vi.spyOn(a.dataplane, 'infer').mockImplementation((...args) => {
      arrived.push(Date.now());
      return run(...args);
    });
    cleanups.push(() => {
      vi.restoreAllMocks();
    });
    const sent = Date.now();
    await expect(infer(lb.client, { service: 'slow', params: { ms: '5000' }, items: [textItem('x')] }, 300)).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    // The loader ran the call under the client's deadline, not under its own 30 s default. Each hop
    // passes on the time left, rounded up: the deadline is never before the client's, and at most
    // the client's 300 ms (+1 ms of rounding per hop, two hops) after the call reached the loader.
    const deadline = infers.mock.calls[0]?.[1]?.deadline ?? Number.NaN;
    expect(deadline).toBeGreaterThanOrEqual(sent + 300);
    expect(deadline).toBeLessThanOrEqual(arrived[0]! + 300 + 2);
    await vi.waitFor(() => expect(a.dataplane.admission.inUse).toBe(0));

    const call = lb.client.Infer({ service: 'slow', params: { ms: '5000' }, items: [textItem('x')] }, () => undefined);
    await vi.waitFor(() => expect(a.dataplane.admission.inUse).toBe(1));
    const cancelled = await onceCalls(a, 10202);
    call.cancel();
    // The loader hears of it and frees the slot (10202), long before the plugin's 5 s are up.
    await vi.waitFor(async () => expect(await onceCalls(a, 10202)).toBe(cancelled + 1));
    await vi.waitFor(() => expect(a.dataplane.admission.inUse).toBe(0));
  });

  it('carries small once calls on one Relay stream per instance; a large one, Metadata and sessions on streams of their own', async () => {
    const a = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', a.grpcPort, 64));
    const lb = await balancer(discovery, ['echo']);
    await live(lb, 'echo', 1);
    const counts = () => {
      const e = lb.balancer.snapshot()['echo']?.[0];
      return { relayed: e?.relayed, streamed: e?.streamed };
    };
    await Promise.all(
      Array.from({ length: 20 }, () => echoCall(lb.client, 'echo', {}).then((r) => expect(r.items[0]?.data.toString()).toBe('x'))),
    );
    // 20 calls on the Relay stream, none on a stream of its own.
    expect(counts()).toEqual({ relayed: 20, streamed: 0 });
    const big = Buffer.alloc(RELAY_MAX_BYTES + 1, 3);
    const res = await infer(lb.client, { service: 'echo', items: [{ key: 'data', type: 4, status: 3, data: big }] });
    expect(Buffer.compare(res.items[0]!.data, big)).toBe(0);
    await metadata(lb.client, 'echo');
    const session = openSession(lb.client);
    session.write({ service: 'echo', items: [textItem('s', 'text')] });
    session.call.end();
    await session.done;
    expect(counts()).toEqual({ relayed: 20, streamed: 3 });
    await vi.waitFor(() => expect(a.dataplane.admission.inUse).toBe(0));
  });

  it('with relay off, and to an instance without Relay (UNIMPLEMENTED), forwards each call as a stream of its own', async () => {
    const a = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', a.grpcPort, 64));
    const off = await startBalancerWith(discovery, ['echo'], { relay: false });
    cleanups.push(() => off.close());
    await live(off, 'echo', 1);
    for (let i = 0; i < 5; i++) await echoCall(off.client, 'echo');
    expect(off.balancer.snapshot()['echo']?.[0]).toMatchObject({ relayed: 0, streamed: 5 });

    // A loader of an older build: Infer and WatchLoad, no Relay.
    const report = { inflight: 0, sessions: 0, capacity: 4, ready: true, instanceId: '' };
    const old = new grpc.Server();
    old.addService(loadLoaderProto().aiges.v1.Loader.service, {
      WatchLoad(call: grpc.ServerWritableStream<unknown, unknown>) {
        call.write(report);
      },
      Infer(call: grpc.ServerUnaryCall<{ items: unknown[] }, unknown>, callback: grpc.sendUnaryData<unknown>) {
        callback(null, { items: call.request.items });
      },
    });
    const port = await bindGrpc(old, '127.0.0.1', 0);
    cleanups.push(() => void old.forceShutdown());
    const oldDiscovery = new FakeDiscovery();
    oldDiscovery.add(record('old', port, 4));
    const lb = await balancer(oldDiscovery, ['old']);
    await live(lb, 'old', 1);
    for (let i = 0; i < 5; i++) expect((await echoCall(lb.client, 'old')).items[0]?.data.toString()).toBe('x');
    // The first call tried the Relay stream, was refused at once, and went as a stream; the rest went so directly.
    expect(lb.balancer.snapshot()['old']?.[0]).toMatchObject({ relayed: 1, streamed: 5 });
  });

  it('without --service, fronts whatever service a request names, from its first request on', async () => {
    const a = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', a.grpcPort, 64));
    const lb = await balancer(discovery, []);
    expect(lb.balancer.snapshot()).toEqual({});
    expect((await infer(lb.client, { service: 'echo', items: [textItem('lazy')] })).items[0]?.data.toString()).toBe('lazy');
    expect(Object.keys(lb.balancer.snapshot())).toEqual(['echo']);
    await expectGrpcError(infer(lb.client, { service: '', items: [] }), grpc.status.NOT_FOUND, 10200);
  });

  it('answers UNAVAILABLE with aiges-code 10101 when no instance is live', async () => {
    const lb = await balancer(new FakeDiscovery(), ['echo']);
    const details = await expectGrpcError(echoCall(lb.client, 'echo'), grpc.status.UNAVAILABLE, 10101);
    expect(details).toMatch(/no live instance of service "echo"/);
  });

  it('does not retry a payload too large (10201) elsewhere', async () => {
    const [a, b] = [await loader({ limits: { max_message_bytes: 16 } }), await loader({ limits: { max_message_bytes: 16 } })];
    const discovery = new FakeDiscovery();
    discovery.set('echo', [record('echo', a.grpcPort, 64), record('echo', b.grpcPort, 64)]);
    const lb = await balancer(discovery, ['echo']);
    await live(lb, 'echo', 2);
    await expectGrpcError(infer(lb.client, { service: 'echo', items: [textItem('x'.repeat(64))] }), grpc.status.RESOURCE_EXHAUSTED, 10201);
    expect((await onceCalls(a, 10201)) + (await onceCalls(b, 10201))).toBe(1);
  });

  it('serves grpc.health.v1 for itself and per service', async () => {
    const a = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', a.grpcPort, 64));
    const lb = await balancer(discovery, ['echo']);
    await live(lb, 'echo', 1);
    const health = healthClient(lb.address);
    const check = (service: string) =>
      new Promise<HealthCheckResponse__Output>((resolve, reject) =>
        health.Check({ service }, (err, res) => (err ? reject(err) : resolve(res as HealthCheckResponse__Output))),
      );
    expect((await check('')).status).toBe(SERVING);
    expect((await check('echo')).status).toBe(SERVING);
    await expect(check('other')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    discovery.set('echo', []);
    await vi.waitFor(async () => expect((await check('echo')).status).toBe(NOT_SERVING));
    health.close();
  });
});

describe('picking', () => {
  it('spreads load by capacity: the instance with capacity 8 gets about twice the calls of the one with 4', async () => {
    const small = await loader({ plugin: { path: SLOW }, limits: { capacity: 4 } });
    const large = await loader({ plugin: { path: SLOW }, limits: { capacity: 8 } });
    const discovery = new FakeDiscovery();
    discovery.set('slow', [record('slow', small.grpcPort, 4), record('slow', large.grpcPort, 8)]);
    const lb = await balancer(discovery, ['slow']);
    await live(lb, 'slow', 2);

    // 9 calls in flight against 12 slots: at balance 3 sit on the 4 and 6 on the 8.
    const outcome = await boundedLoad(180, 9, () => echoCall(lb.client, 'slow', { ms: '40' }));
    expect(outcome.failed).toEqual([]);
    const [s, l] = [await onceCalls(small, 0), await onceCalls(large, 0)];
    expect(s + l).toBe(180);
    const ratio = l / s;
    console.log(`capacity spread: ${s} calls on capacity 4, ${l} on capacity 8 (ratio ${ratio.toFixed(2)})`);
    expect(ratio).toBeGreaterThan(1.5);
    expect(ratio).toBeLessThan(2.7);
  });

  it('keeps a session on one instance for its whole life', async () => {
    const [a, b] = [await loader(), await loader()];
    const discovery = new FakeDiscovery();
    discovery.set('echo', [record('echo', a.grpcPort, 64), record('echo', b.grpcPort, 64)]);
    const lb = await balancer(discovery, ['echo']);
    await live(lb, 'echo', 2);

    const session = openSession(lb.client);
    session.write({ service: 'echo', items: [{ ...textItem('open'), status: 0 }] });
    await session.received(1);
    // The instance's own metrics show the session, on one instance only.
    const [sa, sb] = [await openSessions(a), await openSessions(b)];
    expect(sa + sb).toBe(1);
    for (let i = 0; i < 10; i++) session.write({ items: [{ ...textItem(`frame ${i}`), status: 1 }] });
    session.call.end();
    const responses = await session.done;
    expect(responses.flatMap((r) => r.items.map((it) => it.data.toString()))).toEqual([
      'open',
      ...Array.from({ length: 10 }, (_, i) => `frame ${i}`),
    ]);
    expect(new Set(responses.map((r) => r.sid)).size).toBe(1);
    expect(responses.at(-1)?.status).toBe(2);
  });

  it('retries a once call refused with 10110 once, on another instance', async () => {
    const hold = gate();
    const full = await loader({ plugin: { path: GATED }, wrapper: useGates({ exec: hold }), limits: { capacity: 1 } });
    const free = await loader({ plugin: { path: GATED }, limits: { capacity: 4 } });
    const direct = createLoaderClient(`127.0.0.1:${full.grpcPort}`);
    cleanups.push(() => direct.close());
    const { lb, held } = await staleView(
      full,
      free,
      () => infer(direct, { service: 'gated', items: [textItem('held')] }),
      (discovery) => balancer(discovery, ['gated']),
      cleanups,
    );

    // The picker prefers `full` (load 0 against 3/4); it refuses, the call goes to `free`.
    const res = await infer(lb.client, { service: 'gated', items: [textItem('retried')] });
    expect(res.items[0]?.data.toString()).toBe('retried');
    expect(await onceCalls(full, 10110)).toBe(1);
    expect(await onceCalls(free, 0)).toBe(1);
    hold.open();
    await held;
  });
});

describe('ejection', () => {
  it('ejects a stopped instance: it gets no more picks', async () => {
    const [a, b] = [await loader(), await loader()];
    const discovery = new FakeDiscovery();
    discovery.set('echo', [record('echo', a.grpcPort, 64), record('echo', b.grpcPort, 64)]);
    const lb = await balancer(discovery, ['echo']);
    await live(lb, 'echo', 2);
    await a.stop();
    // Still in discovery (its lease has not expired): ejected because its load stream ended.
    await live(lb, 'echo', 1);
    const before = await onceCalls(b, 0);
    const outcome = await boundedLoad(30, 3, () => echoCall(lb.client, 'echo'));
    expect(outcome.failed).toEqual([]);
    expect((await onceCalls(b, 0)) - before).toBe(30);
  });

  it('loses no in-flight call when a loader stops gracefully under load', async () => {
    const [a, b] = [await loader({ plugin: { path: SLOW } }), await loader({ plugin: { path: SLOW } })];
    const discovery = new FakeDiscovery();
    discovery.set('slow', [record('slow', a.grpcPort, 64), record('slow', b.grpcPort, 64)]);
    const lb = await balancer(discovery, ['slow']);
    await live(lb, 'slow', 2);
    let stopping: Promise<void> | undefined;
    const outcome = await boundedLoad(
      120,
      6,
      () => echoCall(lb.client, 'slow', { ms: '20' }),
      (done) => {
        // Stop `a` a third of the way in, with calls in flight on it.
        if (done === 40) stopping = a.stop();
      },
    );
    await stopping;
    expect(outcome.failed).toEqual([]);
    expect(outcome.ok).toBe(120);
    expect(await onceCalls(a, 0)).toBeGreaterThan(0);
  });

  it('keeps an instance that heartbeats, ejects it once its load stream goes silent, and lets it back when it reports again', async () => {
    // A fake loader: each load stream gets a report at once and one every HEARTBEAT_MS, as a
    // loader's does, while `talking`; nothing at all while not.
    let talking = true;
    const report = { inflight: 0, sessions: 0, capacity: 4, ready: true, instanceId: '' };
    const streams: grpc.ServerWritableStream<unknown, unknown>[] = [];
    const open = new Set<grpc.ServerWritableStream<unknown, unknown>>();
    // What happened, in order: the fake's streams opening and being cancelled, the balancer's verdicts.
    const events: string[] = [];
    const waiters: (() => void)[] = [];
    const note = (event: string) => {
      events.push(event);
      for (const w of waiters.splice(0)) w();
    };
    /** Resolves once an event from index `from` on is `event`. */
    const seen = (event: string, from = 0) =>
      new Promise<void>((resolve) => {
        const check = () => (events.indexOf(event, from) >= 0 ? resolve() : waiters.push(check));
        check();
      });
    const server = new grpc.Server();
    server.addService(loadLoaderProto().aiges.v1.Loader.service, {
      WatchLoad(call: grpc.ServerWritableStream<unknown, unknown>) {
        const n = streams.push(call);
        open.add(call);
        note(`stream ${n} opened`);
        call.on('cancelled', () => {
          open.delete(call);
          note(`stream ${n} cancelled`);
        });
        if (talking) call.write(report);
      },
    });
    let beats = 0;
    const heartbeat = setInterval(() => {
      if (!talking) return;
      for (const call of open) call.write(report);
      note(`heartbeat ${++beats}`);
    }, HEARTBEAT_MS);
    cleanups.push(() => clearInterval(heartbeat));
    const port = await bindGrpc(server, '127.0.0.1', 0);
    cleanups.push(() => void server.forceShutdown());
    const discovery = new FakeDiscovery();
    discovery.add(record('fake', port, 4));
    const log = createLogger('info', {
      write(line: string) {
        const { msg, reason } = JSON.parse(line) as { msg: string; reason?: string };
        if (msg === 'instance admitted' || msg === 'instance ejected') note(`${msg}: ${reason}`);
      },
    });
    const lb = await startBalancerWith(discovery, ['fake'], { log });
    cleanups.push(() => lb.close());
    await seen('instance admitted: ready');

    // Heartbeats alone keep it in for longer than a silence window: the heartbeat
    // SILENCE_MS / HEARTBEAT_MS + 2 beats after its admission comes SILENCE_MS + HEARTBEAT_MS after it or later.
    await seen(`heartbeat ${beats + Math.ceil(SILENCE_MS / HEARTBEAT_MS) + 2}`);
    expect(events.filter((e) => e.startsWith('instance '))).toEqual(['instance admitted: ready']);

    // Silent: ejected for the silence, the silent stream given up (cancelled by the balancer) and re-opened.
    talking = false;
    await seen('stream 2 opened');
    expect(events.filter((e) => !e.startsWith('heartbeat'))).toEqual([
      'stream 1 opened',
      'instance admitted: ready',
      `instance ejected: no load report for ${SILENCE_MS} ms`,
      'stream 1 cancelled',
      'stream 2 opened',
    ]);
    expect(lb.balancer.snapshot()['fake']?.[0]?.live).toBe(false);
    await expectGrpcError(echoCall(lb.client, 'fake'), grpc.status.UNAVAILABLE, 10101);

    // It speaks again on the stream the balancer re-opened: back in.
    talking = true;
    const back = events.length;
    for (const call of open) call.write(report);
    await seen('instance admitted: ready', back);
    expect(lb.balancer.snapshot()['fake']?.[0]?.live).toBe(true);
  });
});
