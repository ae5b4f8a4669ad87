/**
 * Section (d) of `npm run bench`, also run alone by balancer.ts: the cost of `aiges lb`.
 *
 * 1. Throughput and latency of aiges.v1.Loader/Infer on one loader (demo/echo, capacity 256),
 *    called directly, through `aiges lb`, and through a bare grpc-js pass-through proxy
 *    (bare-proxy.ts: the floor of any grpc-js hop), in the same run, in turn (`repeat` rounds,
 *    medians reported): the ratio lb/direct and the latency the hop adds at p50 and p99.
 * 2. Registration → first routed call: with no instance live, a client calls through `aiges lb`
 *    in a loop; a new loader starts and registers; the time from its "registered in polaris" log
 *    line to the first call answered through the balancer (same clock, same machine).
 * 3. A large upload beside small calls: small 1 KiB calls' p99 through `aiges lb` while idle, then
 *    while another client keeps one 32 MiB Infer in flight through the same balancer to another
 *    service's loader (target: p99 within 2× of idle; issue 14).
 *
 * Every process is real: etcd (test/polaris/etcd.ts), `aiges serve` and `aiges lb` from dist/.
 * The load generator is the server sections' (load.ts: aiges xtest's closed loop and HDR histogram).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { createLoaderClient, type InferRequest, infer } from '../../loader/tools/client.js';
import { SERVICE_METADATA } from '../../polaris/balancer/forward.js';
import { runCli, startServe, type CliProcess } from '../cli/serve-process.js';
import { TestEtcd } from '../polaris/etcd.js';
import { textItem } from '../server/grpc-helpers.js';
import { runLoad } from './load.js';
import { grpcTarget } from './load-grpc.js';
import { sizeLabel } from './report.js';
import { formatValue, markdownTable, ratio, type SummaryRow } from './summary.js';

export interface BalancerSettings {
  concurrency: number;
  size: number;
  repeat: number;
  rounds: number;
  warmupMs: number;
  durationMs: number;
}

export function balancerSettings(quick: boolean): BalancerSettings {
  return quick
    ? { concurrency: 32, size: 1024, repeat: 1, rounds: 2, warmupMs: 1_000, durationMs: 1_000 }
    : { concurrency: 32, size: 1024, repeat: 1, rounds: 5, warmupMs: 2_000, durationMs: 5_000 };
}

export type Path = 'direct' | 'lb' | 'bare';
const LABELS: Readonly<Record<Path, string>> = {
  direct: 'direct: client → aiges serve (loader CPU)',
  lb: 'aiges lb: client → lb → serve (lb CPU)',
  bare: 'bare grpc-js proxy: client → proxy → serve (proxy CPU)',
};

export interface PathStats {
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerCall: number;
}

/** Part 3: small calls beside a large upload. */
export interface UploadIsolation {
  uploadBytes: number;
  /** Small calls in flight. */
  concurrency: number;
  idle: PathStats;
  withUpload: PathStats;
  /** Large calls answered during the loaded window. */
  uploads: number;
}

export interface BalancerResult {
  paths: Record<Path, PathStats>;
  /** Registration → first routed call, ms, one per round. */
  routeMs: number[];
  upload: UploadIsolation;
}

/** The upload of part 3, and the small calls in flight beside it. */
const UPLOAD_BYTES = 32 * 1024 * 1024;
const SMALL_CONCURRENCY = 4;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

const ms = (x: number) => `${x.toFixed(2)} ms`;

async function stop(cli: CliProcess): Promise<void> {
  cli.proc.kill('SIGTERM');
  await cli.exited;
}

/** Starts bare-proxy.ts in front of `target`; resolves with its port and pid. */
async function startBareProxy(root: string, target: string): Promise<{ port: number; pid: number; kill(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/bare-proxy.ts', target], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.on('exit', () => child.kill('SIGKILL'));
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  return { port: (JSON.parse(line) as { port: number }).port, pid: child.pid as number, kill: () => child.kill() };
}

type Serve = Awaited<ReturnType<typeof startServe>>;

/** An `aiges serve demo/echo` registered in `etcd` (with `loaderArgs`). */
async function registered(etcd: TestEtcd, loaderArgs: readonly string[], children: CliProcess[]): Promise<Serve> {
  const loader = await startServe(['demo/echo', '--capacity', '256', ...loaderArgs, '--set', `polaris.endpoints=${etcd.endpoint}`]);
  children.push(loader);
  await loader.waitForLog('registered in polaris');
  return loader;
}

/**
 * One `aiges serve demo/echo` registered in `etcd` as service echo, and an `aiges lb` fronting echo
 * and `alsoFronted` that admitted it.
 */
async function startFleet(
  etcd: TestEtcd,
  children: CliProcess[],
  alsoFronted: readonly string[] = [],
): Promise<{ loader: Serve; lb: CliProcess; lbPort: number }> {
  const loader = await registered(etcd, [], children);
  const services = ['echo', ...alsoFronted].flatMap((s) => ['--service', s]);
  const lb = runCli(['lb', '--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', ...services]);
  children.push(lb);
  const lbPort = Number((await lb.waitForLog('balancer listening'))['port']);
  await lb.waitForLog('instance admitted');
  return { loader, lb, lbPort };
}

async function throughput(
  root: string,
  etcd: TestEtcd,
  s: BalancerSettings,
  children: CliProcess[],
  progress: (line: string) => void,
): Promise<Record<Path, PathStats>> {
  const { loader, lb, lbPort } = await startFleet(etcd, children);
  const bare = await startBareProxy(root, `127.0.0.1:${loader.grpcPort}`);
  const ports: Record<Path, number> = { direct: loader.grpcPort, lb: lbPort, bare: bare.port };
  const pids: Record<Path, number> = { direct: loader.proc.pid as number, lb: lb.proc.pid as number, bare: bare.pid };

  const payload = Buffer.alloc(s.size, 7);
  const runs: Record<Path, PathStats[]> = { direct: [], lb: [], bare: [] };
  for (let i = 0; i < s.repeat; i++) {
    for (const path of ['direct', 'lb', 'bare'] as const) {
      const target = grpcTarget(ports[path], payload);
      await target.check();
      const r = await runLoad(target, {
        concurrency: s.concurrency,
        warmupMs: s.warmupMs,
        durationMs: s.durationMs,
        serverPid: pids[path],
      });
      await target.close();
      runs[path].push(r);
      progress(`  balancer ${path}: ${r.callsPerSec.toFixed(0)} calls/s, p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)}`);
    }
  }
  bare.kill();
  await stop(lb);
  await stop(loader);
  const summary = (rs: PathStats[]): PathStats => ({
    callsPerSec: median(rs.map((r) => r.callsPerSec)),
    p50Ms: median(rs.map((r) => r.p50Ms)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    cpuMicrosPerCall: median(rs.map((r) => r.cpuMicrosPerCall)),
  });
  return { direct: summary(runs.direct), lb: summary(runs.lb), bare: summary(runs.bare) };
}

/** Registration → first call answered through the balancer, `rounds` times; ms each. */
async function routeLatency(etcd: TestEtcd, rounds: number, children: CliProcess[], progress: (line: string) => void): Promise<number[]> {
  const lb = runCli(['lb', '--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--service', 'echo']);
  children.push(lb);
  const client = createLoaderClient(`127.0.0.1:${Number((await lb.waitForLog('balancer listening'))['port'])}`);
  const request = { service: 'echo', items: [textItem('x')] };
  const latencies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let answeredAt: number | undefined;
    let polling = true;
    // NOTE: the measurement itself: a client that keeps calling until one is routed.
    const poll = (async () => {
      while (polling) {
        try {
          await infer(client, request, 5_000);
          answeredAt = Date.now();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 2));
        }
      }
    })();
    const loader = await startServe(['demo/echo', '--set', `polaris.endpoints=${etcd.endpoint}`]);
    children.push(loader);
    const registeredAt = Number((await loader.waitForLog('registered in polaris'))['time']);
    await Promise.race([poll, new Promise((r) => setTimeout(r, 10_000))]);
    polling = false;
    if (answeredAt === undefined) throw new Error('no call was routed to the new instance within 10 s');
    latencies.push(answeredAt - registeredAt);
    progress(`  balancer route round ${round + 1}: ${answeredAt - registeredAt} ms`);
    await stop(loader);
    // Wait until the balancer has ejected it, so the next round starts with none live.
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        infer(client, request, 2_000).then(
          () => setTimeout(check, 5),
          (err: { code?: number }) => (err.code === 14 ? resolve() : reject(err)),
        );
      };
      check();
    });
  }
  client.close();
  await stop(lb);
  return latencies;
}

/** Part 3: small calls' latency through the balancer, idle and beside a 32 MiB upload kept in flight. */
async function uploadIsolation(
  etcd: TestEtcd,
  s: BalancerSettings,
  children: CliProcess[],
  progress: (line: string) => void,
): Promise<UploadIsolation> {
  // The upload goes to a loader of its own (service bulk): what is measured is the balancer's
  // isolation of one client's calls from another's, not one loader's CPU shared by both.
  const bulk = await registered(etcd, ['--set', `limits.max_message_bytes=${2 * UPLOAD_BYTES}`, '--set', 'polaris.service=bulk'], children);
  const { loader, lb, lbPort } = await startFleet(etcd, children, ['bulk']);

  const small = grpcTarget(lbPort, Buffer.alloc(1024, 7));
  await small.check();
  const load = () =>
    runLoad(small, { concurrency: SMALL_CONCURRENCY, warmupMs: s.warmupMs, durationMs: s.durationMs, serverPid: lb.proc.pid as number });
  const idle = await load();
  progress(`  balancer small calls, idle: p50 ${ms(idle.p50Ms)}, p99 ${ms(idle.p99Ms)}`);

  const big = createLoaderClient(`127.0.0.1:${lbPort}`);
  // The loader serves its plugin (echo) under the polaris service name bulk: the balancer routes by
  // aiges-service, the loader takes its only plugin for the empty service.
  const request: InferRequest = { service: '', items: [{ key: 'data', type: 4, status: 3, data: Buffer.alloc(UPLOAD_BYTES, 9) }] };
  const routed = new grpc.Metadata();
  routed.set(SERVICE_METADATA, 'bulk');
  const upload = () =>
    new Promise<void>((resolve, reject) =>
      big.Infer(request, routed, { deadline: Date.now() + 60_000 }, (err) => (err ? reject(err) : resolve())),
    );
  let uploading = true;
  let uploads = 0;
  const uploader = (async () => {
    while (uploading) {
      await upload();
      uploads++;
    }
  })();
  uploader.catch(() => undefined); // awaited below, after the window
  // The first upload is under way before the window opens (its warm-up covers it).
  const withUpload = await load();
  const counted = uploads;
  uploading = false;
  await uploader;
  big.close();
  await small.close();
  progress(
    `  balancer small calls beside a ${sizeLabel(UPLOAD_BYTES)} upload: p50 ${ms(withUpload.p50Ms)}, p99 ${ms(withUpload.p99Ms)} ` +
      `(${counted} uploads answered meanwhile)`,
  );
  await stop(lb);
  await stop(loader);
  await stop(bulk);
  return { uploadBytes: UPLOAD_BYTES, concurrency: SMALL_CONCURRENCY, idle, withUpload, uploads: counted };
}

/** Runs the three parts against a fresh etcd (which must be installed: TestEtcd names the apt command). */
export async function runBalancer(root: string, s: BalancerSettings, progress: (line: string) => void): Promise<BalancerResult> {
  const etcd = await TestEtcd.start();
  const children: CliProcess[] = [];
  try {
    progress(`  balancer: concurrency ${s.concurrency}, ${sizeLabel(s.size)} payload, warm-up ${s.warmupMs} ms, window ${s.durationMs} ms`);
    const paths = await throughput(root, etcd, s, children, progress);
    const routeMs = await routeLatency(etcd, s.rounds, children, progress);
    const upload = await uploadIsolation(etcd, s, children, progress);
    return { paths, routeMs, upload };
  } finally {
    for (const c of children) c.proc.kill('SIGKILL');
    await etcd.stop();
  }
}

export function balancerReport(r: BalancerResult, s: BalancerSettings): string {
  const d = r.paths.direct;
  const l = r.paths.lb;
  const worstRoute = Math.max(...r.routeMs);
  const lbRatio = l.callsPerSec / d.callsPerSec;
  const rows = (['direct', 'lb', 'bare'] as const).map((p) => {
    const x = r.paths[p];
    return [
      LABELS[p],
      formatValue(x.callsPerSec),
      ratio(x.callsPerSec, d.callsPerSec),
      ms(x.p50Ms),
      ms(x.p99Ms),
      formatValue(x.cpuMicrosPerCall),
    ];
  });
  return [
    `balancer: Infer through \`aiges lb\` against the loader directly; concurrency ${s.concurrency}, ${sizeLabel(s.size)} payload` +
      (s.repeat > 1 ? `, medians of ${s.repeat} rounds` : ''),
    '',
    markdownTable(['path', 'calls/s', '×direct', 'p50', 'p99', 'CPU µs/call (measured process)'], rows),
    '',
    `throughput lb/direct: ${lbRatio.toFixed(2)}× (target ≥ 0.6×) ${lbRatio >= 0.6 ? 'OK' : 'BELOW TARGET'}; ` +
      `lb/bare proxy: ${ratio(l.callsPerSec, r.paths.bare.callsPerSec)}`,
    `added latency: p50 +${ms(l.p50Ms - d.p50Ms)}, p99 +${ms(l.p99Ms - d.p99Ms)}`,
    `registration → first routed call: median ${median(r.routeMs).toFixed(0)} ms, worst ${worstRoute} ms over ` +
      `${r.routeMs.length} rounds (target ≤ 1000 ms) ${worstRoute <= 1_000 ? 'OK' : 'ABOVE TARGET'}`,
    uploadLine(r.upload),
  ].join('\n');
}

function uploadLine(u: UploadIsolation): string {
  const factor = u.withUpload.p99Ms / u.idle.p99Ms;
  return (
    `small calls (1 KiB, ${u.concurrency} in flight) beside a ${sizeLabel(u.uploadBytes)} upload kept in flight (${u.uploads} answered): ` +
    `p99 ${ms(u.withUpload.p99Ms)} against ${ms(u.idle.p99Ms)} idle, ${factor.toFixed(2)}× (target ≤ 2×) ${factor <= 2 ? 'OK' : 'ABOVE TARGET'}`
  );
}

export function balancerSummary(r: BalancerResult, s: BalancerSettings): SummaryRow[] {
  const section = '(d)';
  const label = `Infer ${sizeLabel(s.size)} through aiges lb`;
  const { direct, lb, bare } = r.paths;
  return [
    {
      section,
      case: label,
      metric: 'calls/s',
      higherIsBetter: true,
      ours: lb.callsPerSec,
      baseline: 'direct to the loader',
      baselineValue: direct.callsPerSec,
    },
    {
      section,
      case: label,
      metric: 'p99 ms',
      higherIsBetter: false,
      ours: lb.p99Ms,
      baseline: 'direct to the loader',
      baselineValue: direct.p99Ms,
    },
    {
      section,
      case: label,
      metric: 'calls/s',
      higherIsBetter: true,
      ours: lb.callsPerSec,
      baseline: 'bare grpc-js proxy',
      baselineValue: bare.callsPerSec,
    },
    {
      section,
      case: label,
      metric: 'hop CPU µs/call',
      higherIsBetter: false,
      ours: lb.cpuMicrosPerCall,
      baseline: 'bare grpc-js proxy',
      baselineValue: bare.cpuMicrosPerCall,
    },
    {
      section,
      case: `1 KiB calls beside a ${sizeLabel(r.upload.uploadBytes)} upload through aiges lb`,
      metric: 'p99 ms',
      higherIsBetter: false,
      ours: r.upload.withUpload.p99Ms,
      baseline: 'the same calls, no upload',
      baselineValue: r.upload.idle.p99Ms,
    },
  ];
}
