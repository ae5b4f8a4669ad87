/**
 * The `batching` section of `npm run bench` (issue 15 item 8, "dynamic batching's throughput at 32
 * in flight vs no batching"): an `aiges serve` child serving test/bench/batch-plugin.ts (a fixed
 * 2 ms per exec plus work per row) with `plugin.concurrency = 1` (one model instance), driven over
 * V2 REST (JSON, one row of 16 FP32 per call) by the closed loop of load.ts with `concurrency` calls
 * in flight; batched (max batch size 32, no queue delay) against unbatched (max_batch_size = 0).
 * Each case runs `repeat` times, the two alternating; medians are reported.
 */
import { Pool } from 'undici';
import { median } from './balancer-section.js';
import { type LoadResult, runLoad, type Target } from './load.js';
import { startServer } from './servers.js';
import { formatValue, markdownTable, type SummaryRow } from './summary.js';

export interface BatchingSettings {
  warmupMs: number;
  durationMs: number;
  concurrency: number;
  maxBatchSize: number;
}

export function batchingSettings(quick: boolean): BatchingSettings {
  const common = { concurrency: 32, maxBatchSize: 32 };
  return quick ? { ...common, warmupMs: 500, durationMs: 1500 } : { ...common, warmupMs: 2000, durationMs: 5000 };
}

type Mode = 'batched' | 'unbatched';

export interface BatchingCase {
  mode: Mode;
  runs: LoadResult[];
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerCall: number;
}

export interface BatchingRun {
  cases: BatchingCase[];
  /** Batch runs and rows the loader counted (aiges_batches_total, aiges_batch_size_sum) over the last batched run, warm-up included. */
  batches: number;
  rows: number;
}

const ROW = Array.from({ length: 16 }, (_, i) => i / 2);

function v2Target(port: number, connections: number): Target {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], data: ROW }] });
  const call = async () => {
    const res = await pool.request({
      path: '/v2/models/batch-bench/infer',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    const y = (JSON.parse(text) as { outputs: { name: string; shape: number[]; data: number[] }[] }).outputs[0];
    if (y?.name !== 'y' || y.shape.join() !== '1,16' || y.data[3] !== ROW[3]! * 2) throw new Error(`wrong answer: ${text.slice(0, 300)}`);
  };
  return { check: call, call, close: () => pool.close() };
}

/** The value of a metric line `name{labels} value` in a /metrics text (0 when absent). */
function metricValue(text: string, prefix: string): number {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function measure(root: string, mode: Mode, s: BatchingSettings): Promise<{ result: LoadResult; batches: number; rows: number }> {
  const size = mode === 'batched' ? s.maxBatchSize : 0;
  const loaderArgs = ['--set', 'plugin.concurrency=1', '--set', `plugin.batching.max_batch_size=${size}`];
  const proc = await startServer(root, 'ours', 'http', { plugin: 'test/bench/batch-plugin.ts', loaderArgs });
  const t = v2Target(proc.port, s.concurrency);
  try {
    await t.check();
    const result = await runLoad(t, { concurrency: s.concurrency, warmupMs: s.warmupMs, durationMs: s.durationMs, serverPid: proc.pid });
    const metrics = await (await fetch(`http://127.0.0.1:${proc.port}/metrics`)).text();
    return {
      result,
      batches: metricValue(metrics, 'aiges_batches_total{service="batch-bench"}'),
      rows: metricValue(metrics, 'aiges_batch_size_sum{service="batch-bench"}'),
    };
  } finally {
    await t.close();
    await proc.stop();
  }
}

export async function runBatching(
  root: string,
  s: BatchingSettings,
  repeat: number,
  progress: (line: string) => void,
): Promise<BatchingRun> {
  const runs: Record<Mode, LoadResult[]> = { batched: [], unbatched: [] };
  let batches = 0;
  let rows = 0;
  for (let r = 0; r < repeat; r++) {
    const order: Mode[] = r % 2 === 0 ? ['unbatched', 'batched'] : ['batched', 'unbatched'];
    for (const mode of order) {
      const m = await measure(root, mode, s);
      runs[mode].push(m.result);
      if (mode === 'batched') ({ batches, rows } = m);
      progress(
        `  batching ${mode} run ${r + 1}/${repeat}: ${m.result.callsPerSec.toFixed(0)} calls/s, p50 ${m.result.p50Ms.toFixed(2)} ms` +
          (mode === 'batched' ? `, ${m.batches} batches of ${(m.rows / Math.max(1, m.batches)).toFixed(1)} rows on average` : ''),
      );
    }
  }
  const cases = (['unbatched', 'batched'] as const).map((mode) => ({
    mode,
    runs: runs[mode],
    callsPerSec: median(runs[mode].map((r) => r.callsPerSec)),
    p50Ms: median(runs[mode].map((r) => r.p50Ms)),
    p99Ms: median(runs[mode].map((r) => r.p99Ms)),
    cpuMicrosPerCall: median(runs[mode].map((r) => r.cpuMicrosPerCall)),
  }));
  return { cases, batches, rows };
}

const caseLabel = (s: BatchingSettings) =>
  `V2 REST, 1 row per call, ${s.concurrency} in flight, plugin.concurrency 1, exec = 2 ms + per-row work`;

export function batchingReport({ cases, batches, rows }: BatchingRun, s: BatchingSettings, repeat: number): string {
  const table = markdownTable(
    ['mode', 'calls/s', 'p50 ms', 'p99 ms', 'server CPU µs/call'],
    cases.map((c) => [c.mode, formatValue(c.callsPerSec), formatValue(c.p50Ms), formatValue(c.p99Ms), formatValue(c.cpuMicrosPerCall)]),
  );
  const [unbatched, batched] = cases;
  const ratio = (batched?.callsPerSec ?? Number.NaN) / (unbatched?.callsPerSec ?? Number.NaN);
  return [
    `batching: ${caseLabel(s)}; max batch size ${s.maxBatchSize}, no queue delay; warm-up ${s.warmupMs} ms, window ${s.durationMs} ms, ${repeat} run(s) per case, medians`,
    '',
    table,
    '',
    `batched/unbatched throughput ${ratio.toFixed(2)}×; the last batched run (warm-up included) ran ${batches} batches of ${(rows / Math.max(1, batches)).toFixed(1)} rows on average`,
  ].join('\n');
}

export function batchingSummary({ cases }: BatchingRun, s: BatchingSettings): SummaryRow[] {
  const unbatched = cases.find((c) => c.mode === 'unbatched');
  const batched = cases.find((c) => c.mode === 'batched');
  if (unbatched === undefined || batched === undefined) return [];
  return [
    {
      section: 'batching',
      case: caseLabel(s),
      metric: 'calls/s',
      higherIsBetter: true,
      ours: batched.callsPerSec,
      baseline: 'no batching',
      baselineValue: unbatched.callsPerSec,
    },
  ];
}
