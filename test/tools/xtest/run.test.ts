/**
 * runXtest against real loaders (in-process, real gRPC and HTTP servers on port 0): echo, and a
 * plugin that fails every Nth call, so that counts and the error distribution are exact.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../../loader/loader.js';
import { runXtest, startXtest } from '../../../loader/tools/xtest/runner.js';
import type { LatencySummary } from '../../../loader/tools/xtest/latency.js';
import type { XtestOptionsInput, XtestTarget } from '../../../loader/tools/xtest/options.js';
import { DataType } from '../../../plugins/types.js';
import { startLoader } from '../../server/http-helpers.js';

let echo: Loader;
let flaky: Loader;
let slow: Loader;
const dir = mkdtempSync(join(tmpdir(), 'aiges-xtest-run-'));

beforeAll(async () => {
  [echo, flaky, slow] = await Promise.all([
    startLoader(),
    startLoader({ plugin: { path: 'test/fixtures/plugins/fails-every-nth.ts' } }),
    startLoader({ plugin: { path: 'test/fixtures/plugins/slow.ts' } }),
  ]);
  mkdirSync(join(dir, 'set'));
  for (const [name, text] of [
    ['a', 'alpha'],
    ['b', 'beta'],
    ['c', 'gamma'],
  ])
    writeFileSync(join(dir, 'set', name), text);
});

afterAll(async () => {
  await Promise.all([echo.stop(), flaky.stop(), slow.stop()]);
});

type Protocol = XtestTarget['protocol'];

function targetOf(loader: Loader, protocol: Protocol): XtestTarget {
  return protocol === 'grpc'
    ? { protocol, address: `127.0.0.1:${loader.grpcPort}` }
    : { protocol, url: `http://127.0.0.1:${loader.httpPort}` };
}

const text = (value: string) => ({ key: 'text', source: { text: value }, type: DataType.TEXT, encoding: 'utf8', attributes: {} });

/** min ≤ p50 ≤ p90 ≤ p95 ≤ p99 ≤ max, all present, over `count` values. */
function expectOrdered(s: LatencySummary, count: number) {
  expect(s.count).toBe(count);
  const values = [s.min, s.p50, s.p90, s.p95, s.p99, s.max];
  for (const v of values) expect(typeof v).toBe('number');
  const numbers = values as number[];
  expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
  expect(s.mean as number).toBeGreaterThanOrEqual(s.min as number);
  expect(s.mean as number).toBeLessThanOrEqual(s.max as number);
}

describe.each<Protocol>(['grpc', 'http'])('runXtest over %s', (protocol) => {
  const run = (loader: Loader, options: Omit<XtestOptionsInput, 'target'>) => runXtest({ target: targetOf(loader, protocol), ...options });

  it('once against echo: every call succeeds, inputs cycle through a directory', async () => {
    const r = await run(echo, {
      service: 'echo',
      concurrency: 4,
      requests: 40,
      inputs: [text('hi'), { key: 'data', source: { path: join(dir, 'set') }, type: DataType.OTHER, encoding: 'raw', attributes: {} }],
    });
    expect(r.requests).toEqual({ total: 40, succeeded: 40, failed: 0 });
    expect(r.errors).toEqual([]);
    expect(r.inputs).toEqual({ text: 1, data: 3 });
    expectOrdered(r.latencyMs, 40);
    expect(r.session).toBeNull();
    expect(r.throughput.requestsPerS).toBeGreaterThan(0);
    expect(r.timeline.buckets.reduce((n, b) => n + b.succeeded, 0)).toBe(40);
  });

  it('sessions against echo: first- and last-result latencies present and within the session', async () => {
    const r = await run(echo, {
      service: 'echo',
      mode: 'session',
      concurrency: 3,
      requests: 12,
      inputs: [text('abcdef')],
      frameBytes: 2,
      frameIntervalMs: 2,
    });
    expect(r.requests).toEqual({ total: 12, succeeded: 12, failed: 0 });
    expect(r.session).not.toBeNull();
    const session = r.session!;
    expect([session.frameBytes, session.frameIntervalMs]).toEqual([2, 2]);
    expectOrdered(r.latencyMs, 12);
    expectOrdered(session.firstResultMs, 12);
    expectOrdered(session.lastResultMs, 12);
    // Each is a part of its session, so none exceeds the longest session.
    expect(session.firstResultMs.max as number).toBeLessThanOrEqual(r.latencyMs.max as number);
    expect(session.lastResultMs.max as number).toBeLessThanOrEqual(r.latencyMs.max as number);
  });

  it('a one-frame session works too', async () => {
    const r = await run(echo, { service: 'echo', mode: 'session', requests: 3, inputs: [text('whole')] });
    expect(r.requests).toEqual({ total: 3, succeeded: 3, failed: 0 });
    expect(r.session?.firstResultMs.count).toBe(3);
  });

  it('once against a plugin failing every 3rd call and rejecting every 5th: exact distribution', async () => {
    const r = await run(flaky, {
      service: 'flaky',
      concurrency: 5,
      requests: 30,
      inputs: [text('x')],
      params: { run: randomUUID(), fail_every: '3', reject_every: '5' },
    });
    // Of calls 1..30: 6 are multiples of 5 (10107); 8 more are multiples of 3 (10909).
    expect(r.requests).toEqual({ total: 30, succeeded: 16, failed: 14 });
    expect(r.errors.map((e) => [e.code, e.count])).toEqual([
      ['10909', 8],
      ['10107', 6],
    ]);
    expect(r.errors[0]?.message).toContain('call failed (fail_every=3)');
    expect(r.latencyMs.count).toBe(16);
    const timeline = r.timeline.buckets.reduce((n, b) => [n[0]! + b.succeeded, n[1]! + b.failed], [0, 0]);
    expect(timeline).toEqual([16, 14]);
  });

  it('sessions against the failing plugin: exact distribution, latencies of successes only', async () => {
    const r = await run(flaky, {
      service: 'flaky',
      mode: 'session',
      concurrency: 4,
      requests: 12,
      inputs: [text('abcd')],
      frameBytes: 2,
      params: { run: randomUUID(), fail_every: '4', reject_every: '6' },
    });
    // Sessions 6 and 12 are rejected at create (10107); 4 and 8 fail in write (10907).
    expect(r.requests).toEqual({ total: 12, succeeded: 8, failed: 4 });
    expect(r.errors.map((e) => [e.code, e.count])).toEqual([
      ['10107', 2],
      ['10907', 2],
    ]);
    expect(r.session?.firstResultMs.count).toBe(8);
    expect(r.session?.lastResultMs.count).toBe(8);
  });

  it('counts calls past --timeout-ms as 10102', async () => {
    const r = await run(slow, { service: 'slow', concurrency: 2, requests: 4, inputs: [text('x')], params: { ms: '400' }, timeoutMs: 50 });
    expect(r.requests).toEqual({ total: 4, succeeded: 0, failed: 4 });
    expect(r.errors.map((e) => [e.code, e.count])).toEqual([['10102', 4]]);
  });

  it("counts an unreachable target's calls as transport failures", async () => {
    // Port 1 (tcpmux) is privileged and unused: connections are refused.
    const target: XtestTarget = protocol === 'grpc' ? { protocol, address: '127.0.0.1:1' } : { protocol, url: 'http://127.0.0.1:1' };
    const r = await runXtest({ target, service: 'echo', requests: 3, inputs: [text('x')], timeoutMs: 5000 });
    expect(r.requests).toEqual({ total: 3, succeeded: 0, failed: 3 });
    expect(r.errors.map((e) => [e.code, e.count])).toEqual([[protocol === 'grpc' ? 'grpc:UNAVAILABLE' : 'net:ECONNREFUSED', 3]]);
    expect(r.latencyMs.count).toBe(0);
    expect(r.latencyMs.p50).toBeNull();
  });
});

describe('runXtest runs', () => {
  const target = () => targetOf(echo, 'grpc');

  it('for a duration when given one, with a ramp-up', async () => {
    const r = await runXtest({ target: target(), service: 'echo', concurrency: 2, durationMs: 300, rampUpMs: 100, inputs: [text('x')] });
    expect(r.limit).toEqual({ requests: null, durationMs: 300 });
    expect(r.rampUpMs).toBe(100);
    expect(r.stoppedEarly).toBe(false);
    expect(r.requests.total).toBeGreaterThan(0);
    expect(r.requests.failed).toBe(0);
  });

  it('until stopped, reporting what ran', async () => {
    const run = startXtest({ target: target(), service: 'echo', concurrency: 2, durationMs: 600_000, inputs: [text('x')] });
    while (run.progress().done < 5) await new Promise((r) => setTimeout(r, 5));
    run.stop();
    const r = await run.done;
    expect(r.stoppedEarly).toBe(true);
    expect(r.requests.total).toBeGreaterThanOrEqual(5);
    expect(r.requests.total).toBe(r.requests.succeeded);
  });

  it('samples a process given by pid', async () => {
    const r = await runXtest({ target: target(), service: 'echo', requests: 20, inputs: [text('x')], pid: process.pid, sampleMs: 10 });
    const p = r.process!;
    expect(p.pid).toBe(process.pid);
    expect(p.exited).toBe(false);
    expect(p.samples.length).toBeGreaterThanOrEqual(2);
    expect(p.samples[0]?.cpuPercent).toBeNull();
    expect(p.rssBytes.min).toBeGreaterThan(0);
    expect(p.rssBytes.max).toBeGreaterThanOrEqual(p.rssBytes.min);
  });

  it('notes a sampled process that exits during the run', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const run = startXtest({
      target: target(),
      service: 'echo',
      durationMs: 600_000,
      inputs: [text('x')],
      pid: child.pid as number,
      sampleMs: 10,
    });
    child.kill();
    await once(child, 'exit');
    run.stop();
    const p = (await run.done).process!;
    expect(p.pid).toBe(child.pid);
    expect(p.exited).toBe(true);
    expect(p.samples.length).toBeGreaterThanOrEqual(1);
  });
});
