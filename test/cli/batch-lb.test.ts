/**
 * `aiges batch` through polaris: the built CLI against a real `aiges lb` that fronts two real
 * `aiges serve` children registered in a real etcd, with AIGes and V2 lines (aiges.v1 Infer and
 * V2 ModelInfer through the balancer). Every item is answered exactly once (one
 * prediction line per id, and the two loaders' own call counters add up to the item count: no
 * call made twice), both loaders take part, and the summary says so.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BatchSummary } from '../../loader/tools/batch/summary.js';
import { TestEtcd } from '../polaris/etcd.js';
import { type CliProcess, runCli, runToExit, startServe } from './serve-process.js';

type Served = Awaited<ReturnType<typeof startServe>>;

let etcd: TestEtcd;
let serves: Served[] = [];
let lb: CliProcess;
let lbPort: number;

beforeAll(async () => {
  etcd = await TestEtcd.start();
  serves = await Promise.all(
    [0, 1].map(async () => {
      const s = await startServe(['demo/echo', '--etcd', etcd.endpoint]);
      await s.waitForLog('registered in polaris');
      return s;
    }),
  );
  lb = runCli(['lb', '--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--service', 'echo']);
  lbPort = Number((await lb.waitForLog('balancer listening'))['port']);
  await vi.waitFor(() => expect(lb.logs.filter((l) => l['msg'] === 'instance admitted')).toHaveLength(2), { timeout: 15_000 });
}, 60_000);

afterAll(async () => {
  for (const p of [lb, ...serves]) p?.proc.kill('SIGTERM');
  await Promise.all([lb, ...serves].filter((p) => p !== undefined).map((p) => p.exited));
  await etcd?.stop();
});

/** Once calls of service echo that a loader answered with success, from its own /metrics. */
async function answered(serve: Served): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${serve.httpPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => /^aiges_requests_total\{/.test(l) && l.includes('service="echo"') && l.includes('mode="once"') && l.includes('code="0"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('aiges batch through aiges lb (polaris)', () => {
  it('answers every item exactly once across two loaders; the summary counts them', async () => {
    const n = 300;
    const dir = mkdtempSync(join(tmpdir(), 'aiges-batch-lb-'));
    const input = join(dir, 'in.jsonl');
    const text = (i: number) => `hello ${i}`;
    // Every third line a V2 request: the balancer routes ModelInfer as it routes aiges.v1 Infer.
    const line = (i: number) =>
      JSON.stringify(
        i % 3 === 0
          ? { id: `item-${i}`, inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [text(i)] }] }
          : { id: `item-${i}`, payload: { text: { encoding: 'utf8', status: 3, text: Buffer.from(text(i)).toString('base64') } } },
      );
    writeFileSync(input, `${Array.from({ length: n }, (_, i) => line(i)).join('\n')}\n`);
    const before = await Promise.all(serves.map(answered));
    const out = join(dir, 'out');
    const target = `127.0.0.1:${lbPort}`;
    const r = await runToExit([
      'batch',
      target,
      'echo',
      '--input',
      input,
      '--out',
      out,
      '--concurrency',
      '8',
      '--param',
      'delay_ms=2',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as BatchSummary;
    expect(s).toMatchObject({
      target: `grpc ${target}`,
      service: 'echo',
      input: { path: input, kind: 'jsonl' },
      concurrency: 8,
      items: { read: n, skipped: 0, ok: n, failed: 0 },
      failures: [],
      retries: 0,
      stoppedEarly: false,
    });
    expect(s.latencyMs.count).toBe(n);

    const predictions = readFileSync(join(out, 'predictions.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { id: string; prediction: string });
    expect(predictions).toHaveLength(n);
    expect(new Set(predictions.map((p) => p.id)).size).toBe(n);
    for (const p of predictions) expect(p.prediction).toBe(text(Number(p.id.slice('item-'.length))));
    expect(readFileSync(join(out, 'errors.jsonl'), 'utf8')).toBe('');

    const calls = (await Promise.all(serves.map(answered))).map((after, i) => after - (before[i] as number));
    expect(calls.reduce((a, b) => a + b, 0)).toBe(n);
    expect(calls.every((c) => c > 0)).toBe(true);
  }, 60_000);
});
