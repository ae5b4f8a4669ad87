/**
 * The `worker` section of `npm run bench`: `[plugin] isolation = "worker"` against `"none"`, each
 * an `aiges serve` child driven over gRPC by the closed loop of load.ts, through the lean HTTP/2
 * target of load-h2.ts (the generator shares the two cores the worker threads want):
 *   - cpu:  a CPU-bound TS plugin (cpu-plugin.ts, fixed work per call) with `cpuConcurrency` calls
 *           in flight and `plugin.concurrency` = twice the cores (docs/plugins.md's advice: each
 *           thread has its next exec waiting when one ends): throughput worker/none (target ≥ 1.7×
 *           on 2 cores);
 *   - echo: demo/echo, 1 KiB, `echoConcurrency` in flight: what the thread hops cost a trivial
 *           plugin, as calls/s and server CPU µs per call, worker against none.
 * Each case runs `repeat` times, none and worker alternating (which goes first alternates too);
 * medians are reported. Before each cpu pair, the machine's own ceiling is measured: the same loop
 * on two bare worker threads against one (no loader), each for as long as a run, since the machine
 * (other work on it, and how much sustained time its second CPU gets) decides what a second thread
 * can give; the verdict also shows each pair's ratio as a share of that ceiling.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { InferRequest } from '../../loader/tools/client.js';
import { loadLoaderProto } from '../../proto/load.js';
import { h2GrpcTarget } from './load-h2.js';
import { type LoadResult, runLoad, type Target } from './load.js';
import { startServer } from './servers.js';
import { formatValue, markdownTable, type SummaryRow } from './summary.js';

export const CPU_THROUGHPUT_TARGET = 1.7;

export interface WorkerSettings {
  warmupMs: number;
  /**
   * The CPU-bound case's warm-up: longer, because at its few hundred calls/s V8 takes seconds to
   * optimise the loader's per-call path (BENCHMARKS.md, method of the worker section), and a
   * loader in service runs warm.
   */
  cpuWarmupMs: number;
  durationMs: number;
  cpuConcurrency: number;
  echoConcurrency: number;
  echoBytes: number;
}

export function workerSettings(quick: boolean): WorkerSettings {
  const common = { cpuConcurrency: 8, echoConcurrency: 32, echoBytes: 1024 };
  return quick
    ? { ...common, warmupMs: 500, cpuWarmupMs: 1500, durationMs: 1500 }
    : { ...common, warmupMs: 2000, cpuWarmupMs: 15_000, durationMs: 5000 };
}

type Plugin = 'cpu' | 'echo';
type Isolation = 'none' | 'worker';

/**
 * The plugin's loop in a bare worker thread: given a window in ms, it runs calls of the same work
 * as cpu-plugin.ts until the window ends and answers how many it finished.
 */
const LOOP = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (ms) => {
  const end = Date.now() + ms;
  let calls = 0;
  let h = 2166136261 | 0;
  while (Date.now() < end) {
    for (let i = 0; i < 2000000; i++) { h ^= i & 0xff; h = Math.imul(h, 16777619); }
    calls++;
  }
  parentPort.postMessage(calls + (h & 0));
});`;

/**
 * Calls of two bare threads running the loop over those of one, each for `windowMs`: what a second
 * thread gets on this machine now, sustained as long as a measurement window.
 * NOTE: sustained, not a burst: this VM's second CPU gives two threads 2× over half a second but
 * about 1.0–1.3× over five seconds (BENCHMARKS.md), so a short ceiling says nothing about a run.
 */
async function threadCeiling(windowMs: number): Promise<number> {
  const threads = [new Worker(LOOP, { eval: true }), new Worker(LOOP, { eval: true })];
  const run = (ws: Worker[], ms: number) =>
    Promise.all(
      ws.map(
        (w) =>
          new Promise<number>((resolve) => {
            w.once('message', resolve);
            w.postMessage(ms);
          }),
      ),
    );
  try {
    await run(threads, 200);
    const [one = 0] = await run(threads.slice(0, 1), windowMs);
    const two = (await run(threads, windowMs)).reduce((a, b) => a + b, 0);
    return two / one;
  } finally {
    for (const w of threads) await w.terminate();
  }
}

export interface WorkerCase {
  plugin: Plugin;
  isolation: Isolation;
  runs: LoadResult[];
  /** Medians over the runs. */
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerCall: number;
  serverCpuPercent: number;
  /** The load generator's (this process's) CPU per call: what it took from the loader's cores. */
  clientMicrosPerCall: number;
}

const OTHER = 4;
const ONCE = 3;

/**
 * The section's load: aiges.v1 Infer of one `data` item over the lean HTTP/2 target (load-h2.ts), so
 * that the load generator takes as little as it can of the two cores the worker threads want.
 */
function target(port: number, plugin: Plugin, bytes: number): Target {
  const infer = loadLoaderProto().aiges.v1.Loader.service.Infer;
  const payload = Buffer.alloc(bytes, 1);
  const request: InferRequest = {
    service: plugin,
    params: {},
    headers: {},
    items: [{ key: 'data', type: OTHER, status: ONCE, encoding: 'raw', attributes: {}, data: payload }],
  };
  return h2GrpcTarget(port, {
    path: infer.path,
    request: infer.requestSerialize(request),
    check(message) {
      const res = infer.responseDeserialize(message);
      const data = res.items[0]?.data;
      if (res.items.length !== 1 || data === undefined || (plugin === 'echo' && !data.equals(payload))) {
        throw new Error(`${plugin} answered something other than one data item`);
      }
    },
  });
}

async function measure(root: string, plugin: Plugin, isolation: Isolation, s: WorkerSettings): Promise<LoadResult> {
  const cores = availableParallelism();
  const loaderArgs = ['--set', `plugin.isolation=${isolation}`];
  // The CPU plugin takes two execs per core (one running, one waiting on its thread); echo keeps the
  // default (the capacity).
  if (plugin === 'cpu') loaderArgs.push('--set', `plugin.concurrency=${2 * cores}`);
  const proc = await startServer(root, 'ours', 'grpc', { plugin: plugin === 'cpu' ? 'test/bench/cpu-plugin.ts' : 'demo/echo', loaderArgs });
  const t = target(proc.port, plugin, plugin === 'echo' ? s.echoBytes : 16);
  try {
    await t.check();
    return await runLoad(t, {
      concurrency: plugin === 'cpu' ? s.cpuConcurrency : s.echoConcurrency,
      warmupMs: plugin === 'cpu' ? s.cpuWarmupMs : s.warmupMs,
      durationMs: s.durationMs,
      serverPid: proc.pid,
    });
  } finally {
    await t.close();
    await proc.stop();
  }
}

/** The load generator's CPU per call of one run (its share of a core over the window, per call). */
function clientMicrosPerCall(r: LoadResult): number {
  return (r.clientCpuPercent * 1e4) / r.callsPerSec;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[sorted.length >> 1] as number);
}

export interface WorkerRun {
  cases: WorkerCase[];
  /** threadCeiling() before each pair, over a run's warm-up and window. */
  ceilings: number[];
}

export async function runWorker(root: string, s: WorkerSettings, repeat: number, progress: (line: string) => void): Promise<WorkerRun> {
  const runs = new Map<string, LoadResult[]>();
  const ceilings: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const ceiling = await threadCeiling(s.cpuWarmupMs + s.durationMs);
    ceilings.push(ceiling);
    progress(`  worker: two bare threads run the loop ${ceiling.toFixed(2)}× as fast as one over ${s.cpuWarmupMs + s.durationMs} ms, now`);
    for (const plugin of ['cpu', 'echo'] as const) {
      const order: Isolation[] = r % 2 === 0 ? ['none', 'worker'] : ['worker', 'none'];
      for (const isolation of order) {
        const result = await measure(root, plugin, isolation, s);
        const key = `${plugin}/${isolation}`;
        runs.set(key, [...(runs.get(key) ?? []), result]);
        progress(
          `  worker ${key} run ${r + 1}/${repeat}: ${result.callsPerSec.toFixed(0)} calls/s, p50 ${result.p50Ms.toFixed(2)} ms, ` +
            `server CPU ${result.serverCpuPercent.toFixed(0)} %, ${result.cpuMicrosPerCall.toFixed(1)} µs/call, ` +
            `client CPU ${clientMicrosPerCall(result).toFixed(0)} µs/call`,
        );
      }
    }
  }
  const cases: WorkerCase[] = [];
  for (const plugin of ['cpu', 'echo'] as const) {
    for (const isolation of ['none', 'worker'] as const) {
      const rs = runs.get(`${plugin}/${isolation}`) ?? [];
      cases.push({
        plugin,
        isolation,
        runs: rs,
        callsPerSec: median(rs.map((r) => r.callsPerSec)),
        p50Ms: median(rs.map((r) => r.p50Ms)),
        p99Ms: median(rs.map((r) => r.p99Ms)),
        cpuMicrosPerCall: median(rs.map((r) => r.cpuMicrosPerCall)),
        serverCpuPercent: median(rs.map((r) => r.serverCpuPercent)),
        clientMicrosPerCall: median(rs.map(clientMicrosPerCall)),
      });
    }
  }
  return { cases, ceilings };
}

/** worker/none calls/s of each repeat: the two runs of a pair ran back to back, under the same other load. */
function pairedRatios(worker: WorkerCase, none: WorkerCase): number[] {
  return worker.runs.map((r, i) => r.callsPerSec / (none.runs[i]?.callsPerSec ?? Number.NaN));
}

function caseLabel(plugin: Plugin, s: WorkerSettings): string {
  return plugin === 'cpu'
    ? `CPU-bound TS plugin (cpu-plugin.ts), gRPC, ${s.cpuConcurrency} in flight, concurrency = 2 × ${availableParallelism()} cores`
    : `demo/echo ${s.echoBytes} B, gRPC, ${s.echoConcurrency} in flight`;
}

export function workerReport({ cases, ceilings }: WorkerRun, s: WorkerSettings, repeat: number): string {
  const rows = cases.map((c) => [
    c.plugin,
    c.isolation,
    formatValue(c.callsPerSec),
    formatValue(c.p50Ms),
    formatValue(c.p99Ms),
    formatValue(c.serverCpuPercent),
    formatValue(c.cpuMicrosPerCall),
    formatValue(c.clientMicrosPerCall),
  ]);
  const lines = [
    `worker isolation: warm-up ${s.cpuWarmupMs} ms (cpu) / ${s.warmupMs} ms (echo), window ${s.durationMs} ms, ${repeat} run(s) per case, medians`,
    '',
    markdownTable(['plugin', 'isolation', 'calls/s', 'p50 ms', 'p99 ms', 'server CPU %', 'server CPU µs/call', 'client CPU µs/call'], rows),
  ];
  const get = (p: Plugin, i: Isolation) => cases.find((c) => c.plugin === p && c.isolation === i);
  const cpuNone = get('cpu', 'none');
  const cpuWorker = get('cpu', 'worker');
  if (cpuNone !== undefined && cpuWorker !== undefined) {
    const ratio = cpuWorker.callsPerSec / cpuNone.callsPerSec;
    const paired = pairedRatios(cpuWorker, cpuNone);
    lines.push(
      '',
      `cpu: worker/none throughput ${ratio.toFixed(2)}× (medians), ${median(paired).toFixed(2)}× (median of the runs' ratios: ` +
        `${paired.map((r) => r.toFixed(2)).join(', ')}); target ≥ ${CPU_THROUGHPUT_TARGET}×: ` +
        `${median(paired) >= CPU_THROUGHPUT_TARGET ? 'met' : 'NOT met'}; the machine's own two-thread ceiling before each pair: ` +
        `${ceilings.map((c) => c.toFixed(2)).join(', ')} (median ${median(ceilings).toFixed(2)}×)`,
      `cpu: worker/none as a share of the ceiling measured before it: ` +
        `${paired.map((r, i) => `${((100 * r) / (ceilings[i] ?? Number.NaN)).toFixed(0)} %`).join(', ')} ` +
        `(median ${median(paired.map((r, i) => (100 * r) / (ceilings[i] ?? Number.NaN))).toFixed(0)} %)`,
    );
  }
  const echoNone = get('echo', 'none');
  const echoWorker = get('echo', 'worker');
  if (echoNone !== undefined && echoWorker !== undefined) {
    const addedCpu = echoWorker.cpuMicrosPerCall - echoNone.cpuMicrosPerCall;
    const addedWall = 1e6 / echoWorker.callsPerSec - 1e6 / echoNone.callsPerSec;
    const paired = pairedRatios(echoWorker, echoNone);
    lines.push(
      `echo: worker/none calls/s ${(echoWorker.callsPerSec / echoNone.callsPerSec).toFixed(2)}× ` +
        `(median of the runs' ratios ${median(paired).toFixed(2)}×); ` +
        `${addedCpu.toFixed(1)} µs more server CPU per call; ${addedWall.toFixed(1)} µs more per call at full load (1/throughput)`,
    );
  }
  return lines.join('\n');
}

export function workerSummary({ cases }: WorkerRun, s: WorkerSettings): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const plugin of ['cpu', 'echo'] as const) {
    const none = cases.find((c) => c.plugin === plugin && c.isolation === 'none');
    const worker = cases.find((c) => c.plugin === plugin && c.isolation === 'worker');
    if (none === undefined || worker === undefined) continue;
    const common = { section: 'worker', case: caseLabel(plugin, s), baseline: 'isolation = "none"' };
    rows.push({ ...common, metric: 'calls/s', higherIsBetter: true, ours: worker.callsPerSec, baselineValue: none.callsPerSec });
    rows.push({
      ...common,
      metric: 'server CPU µs/call',
      higherIsBetter: false,
      ours: worker.cpuMicrosPerCall,
      baselineValue: none.cpuMicrosPerCall,
    });
  }
  return rows;
}
