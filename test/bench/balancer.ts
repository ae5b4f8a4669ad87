/**
 * The balancer's cost: `npx tsx test/bench/balancer.ts` (after `npm run build`; needs etcd).
 *
 * 1. Throughput and latency of aiges.v1.Loader/Infer on one loader (demo/echo, capacity 256),
 *    called directly, through `aiges lb`, and through a bare grpc-js pass-through proxy
 *    (bare-proxy.ts: the floor of any grpc-js hop), in the same run, in turn (--repeat n: n
 *    rounds, medians reported): the ratio lb/direct and the latency the hop adds at p50 and p99.
 * 2. Registration → first routed call: with no instance live, a client calls through `aiges lb`
 *    in a loop; a new loader starts and registers; the time from its "registered in polaris" log
 *    line to the first call answered through the balancer (same clock, same machine).
 *
 * Every process is real: etcd (test/polaris/etcd.ts), `aiges serve` and `aiges lb` from dist/.
 * The load generator is the one `npm run bench` uses (load.ts: closed loop, HDR histogram).
 * Flags: --quick (1 s windows, 2 rounds of part 2), --concurrency <n> (default 32), --size <bytes>
 * (default 1024), --repeat <n> (default 1), --rounds <n> (part 2, default 5).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createLoaderClient, infer } from '../../loader/client.js';
import { runCli, startServe, type CliProcess } from '../cli/serve-process.js';
import { TestEtcd } from '../polaris/etcd.js';
import { textItem } from '../server/grpc-helpers.js';
import { runLoad, type LoadResult } from './load.js';
import { grpcTarget } from './load-grpc.js';
import { checkBuilt } from './servers.js';

const ROOT = new URL('../..', import.meta.url).pathname;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '32' },
    size: { type: 'string', default: '1024' },
    repeat: { type: 'string', default: '1' },
    rounds: { type: 'string' },
  },
});
const quick = values.quick === true;
const concurrency = Number(values.concurrency);
const size = Number(values.size);
const repeat = Number(values.repeat);
const rounds = Number(values.rounds ?? (quick ? 2 : 5));
const warmupMs = quick ? 1_000 : 2_000;
const durationMs = quick ? 1_000 : 5_000;

const children: CliProcess[] = [];
process.on('exit', () => children.forEach((c) => c.proc.kill('SIGKILL')));

async function stop(cli: CliProcess): Promise<void> {
  cli.proc.kill('SIGTERM');
  await cli.exited;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

const ms = (x: number) => `${x.toFixed(2)} ms`;

type Path = 'direct' | 'lb' | 'bare';

/** Starts bare-proxy.ts in front of `target`; resolves with its port and pid. */
async function startBareProxy(target: string): Promise<{ port: number; pid: number; kill(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/bare-proxy.ts', target], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.on('exit', () => child.kill('SIGKILL'));
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  return { port: (JSON.parse(line) as { port: number }).port, pid: child.pid as number, kill: () => child.kill() };
}

async function throughput(etcd: TestEtcd): Promise<Record<Path, LoadResult[]>> {
  const polaris = ['--set', `polaris.endpoints=${etcd.endpoint}`];
  const loader = await startServe(['demo/echo', '--capacity', '256', ...polaris]);
  children.push(loader);
  await loader.waitForLog('registered in polaris');
  const lb = runCli(['lb', '--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--service', 'echo']);
  children.push(lb);
  const lbPort = Number((await lb.waitForLog('balancer listening'))['port']);
  await lb.waitForLog('instance admitted');

  const bare = await startBareProxy(`127.0.0.1:${loader.grpcPort}`);
  const ports: Record<Path, number> = { direct: loader.grpcPort, lb: lbPort, bare: bare.port };
  const pids: Record<Path, number> = { direct: loader.proc.pid as number, lb: lb.proc.pid as number, bare: bare.pid };

  const payload = Buffer.alloc(size, 7);
  const out: Record<Path, LoadResult[]> = { direct: [], lb: [], bare: [] };
  for (let i = 0; i < repeat; i++) {
    for (const kind of ['direct', 'lb', 'bare'] as const) {
      const target = grpcTarget(ports[kind], payload);
      await target.check();
      const pid = pids[kind];
      const result = await runLoad(target, { concurrency, warmupMs, durationMs, serverPid: pid });
      await target.close();
      out[kind].push(result);
      process.stderr.write(`  ${kind}: ${result.callsPerSec.toFixed(0)} calls/s, p50 ${ms(result.p50Ms)}, p99 ${ms(result.p99Ms)}\n`);
    }
  }
  bare.kill();
  await stop(lb);
  await stop(loader);
  return out;
}

/** Registration → first call answered through the balancer, `rounds` times; ms each. */
async function routeLatency(etcd: TestEtcd): Promise<number[]> {
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
    process.stderr.write(`  round ${round + 1}: ${answeredAt - registeredAt} ms\n`);
    await stop(loader);
    // Wait until the balancer has ejected it, so the next round starts with none live.
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        infer(client, request, 2_000).then(() => setTimeout(check, 5), (err: { code?: number }) => (err.code === 14 ? resolve() : reject(err)));
      };
      check();
    });
  }
  client.close();
  await stop(lb);
  return latencies;
}

async function main(): Promise<void> {
  checkBuilt(ROOT);
  const etcd = await TestEtcd.start();
  try {
    process.stderr.write(`throughput: concurrency ${concurrency}, ${size} B payload, warm-up ${warmupMs} ms, window ${durationMs} ms\n`);
    const t = await throughput(etcd);
    process.stderr.write(`registration → first routed call, ${rounds} rounds\n`);
    const route = await routeLatency(etcd);

    const summary = (rs: LoadResult[]) => ({
      rate: median(rs.map((r) => r.callsPerSec)),
      p50: median(rs.map((r) => r.p50Ms)),
      p99: median(rs.map((r) => r.p99Ms)),
      cpu: median(rs.map((r) => r.cpuMicrosPerCall)),
    });
    const [d, l, b] = [summary(t.direct), summary(t.lb), summary(t.bare)];
    const ratio = l.rate / d.rate;
    const worstRoute = Math.max(...route);
    console.log(`# aiges lb bench — ${new Date().toISOString()}`);
    console.log(`machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, Node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`settings: concurrency ${concurrency}, payload ${size} B, warm-up ${warmupMs} ms, window ${durationMs} ms, repeat ${repeat}`);
    console.log('');
    console.log('| path | calls/s | ×direct | p50 | p99 | CPU µs/call (measured process) |');
    console.log('|---|---|---|---|---|---|');
    const row = (name: string, r: typeof d) =>
      console.log(`| ${name} | ${r.rate.toFixed(0)} | ${(r.rate / d.rate).toFixed(2)}× | ${ms(r.p50)} | ${ms(r.p99)} | ${r.cpu.toFixed(0)} |`);
    row('direct: client → aiges serve (loader CPU)', d);
    row('aiges lb: client → lb → serve (lb CPU)', l);
    row('bare grpc-js proxy: client → proxy → serve (proxy CPU)', b);
    console.log('');
    console.log(`throughput lb/direct: ${ratio.toFixed(2)}× (target ≥ 0.6×) ${ratio >= 0.6 ? 'OK' : 'BELOW TARGET'}; lb/bare proxy: ${(l.rate / b.rate).toFixed(2)}×`);
    console.log(`added latency: p50 +${ms(l.p50 - d.p50)}, p99 +${ms(l.p99 - d.p99)}`);
    console.log(
      `registration → first routed call: median ${median(route).toFixed(0)} ms, worst ${worstRoute} ms over ${rounds} rounds (target ≤ 1000 ms) ${worstRoute <= 1_000 ? 'OK' : 'ABOVE TARGET'}`,
    );
  } finally {
    for (const c of children) c.proc.kill('SIGKILL');
    await etcd.stop();
  }
}

await main();
