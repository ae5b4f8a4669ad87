/**
 * `npm run bench`: the loader's echo against bare grpc-js and fastify servers doing the same
 * work, one server process at a time, load from this process. Prints a markdown table of
 * throughput, latency (HDR) and server CPU per call, with the ratios ours/bare.
 *
 * Flags: --quick (short smoke run), --json <file> (write results), --sizes 1024,65536 (payload
 * bytes), --duration <ms>, --warmup <ms>, --concurrency <n>, --repeat <n> (measure each case n
 * times, ours and bare alternating, and report the median of each column: on a shared machine
 * one run is noisy), --cpu-prof <dir> (servers run under `node --cpu-prof` and leave their
 * .cpuprofile files there), --only servers|native (one section).
 *
 * After the server table comes the native section (native-section.ts): a native once call through
 * the host, the data plane and gRPC against the bare C call, and a 16 MiB echo against memcpy.
 * It needs `npm run build:native`; without it the section is skipped with a message saying so.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, type Target } from './load.js';
import { grpcTarget } from './load-grpc.js';
import { httpTarget } from './load-http.js';
import { missingArtifacts, nativeArtifacts } from './native-levels.js';
import { nativeReport, nativeSettings, runNative, type NativeResult, type NativeSettings } from './native-section.js';
import { medianResult, sizeLabel, table, verdicts, type CaseResult } from './report.js';
import { checkBuilt, killAll, startServer, type Protocol, type ServerKind } from './servers.js';
import { checkCpuSampling } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const KiB = 1024;
const MiB = 1024 * 1024;

interface Settings {
  sizes: number[];
  warmupMs: number;
  durationMs: number;
  concurrency: number;
  repeat: number;
  profileDir: string | undefined;
  servers: boolean;
  native: NativeSettings | undefined;
}

function settingsFromArgs(): { settings: Settings; jsonFile: string | undefined } {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      sizes: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      repeat: { type: 'string' },
      'cpu-prof': { type: 'string' },
      only: { type: 'string' },
    },
  });
  const int = (flag: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive integer, got "${value}"`);
    return n;
  };
  const quick = values.quick === true;
  const only = values.only;
  if (only !== undefined && only !== 'servers' && only !== 'native') throw new Error(`--only must be servers or native, got "${only}"`);
  const sizes = values.sizes?.split(',').map((s) => int('sizes', s.trim(), 0)) ?? (quick ? [KiB, 64 * KiB] : [KiB, 64 * KiB, MiB]);
  return {
    settings: {
      sizes,
      warmupMs: int('warmup', values.warmup, quick ? 500 : 2000),
      durationMs: int('duration', values.duration, quick ? 1000 : 5000),
      concurrency: int('concurrency', values.concurrency, 32),
      repeat: int('repeat', values.repeat, 1),
      profileDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
      servers: only !== 'native',
      native: only === 'servers' ? undefined : nativeSettings(quick),
    },
    jsonFile: values.json,
  };
}

/** One case: a fresh server process, a response check, warm-up, then the measured window. */
async function measure(protocol: Protocol, server: ServerKind, payloadBytes: number, s: Settings): Promise<CaseResult> {
  const proc = await startServer(ROOT, server, protocol, s.profileDir);
  let target: Target | undefined;
  try {
    const payload = Buffer.alloc(payloadBytes, 'aiges-bench ');
    target = protocol === 'grpc' ? grpcTarget(proc.port, payload) : httpTarget(proc.port, payload, s.concurrency);
    await target.check();
    const result = await runLoad(target, {
      concurrency: s.concurrency,
      warmupMs: s.warmupMs,
      durationMs: s.durationMs,
      serverPid: proc.pid,
    });
    return { protocol, payloadBytes, server, ...result };
  } finally {
    await target?.close();
    await proc.stop();
  }
}

function loadAverage(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

function machine() {
  return { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
}

/** The server table: every protocol × size, ours and bare, `repeat` times each. */
async function serverSection(settings: Settings): Promise<{ results: CaseResult[]; runs: CaseResult[] }> {
  const results: CaseResult[] = [];
  const runs: CaseResult[] = [];
  for (const protocol of ['grpc', 'http'] as const) {
    for (const size of settings.sizes) {
      const byServer: Record<ServerKind, CaseResult[]> = { ours: [], bare: [] };
      for (let i = 0; i < settings.repeat; i++) {
        // ours-bare, then bare-ours, ...: slow drifts in machine load hit both alike.
        for (const server of i % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const)) {
          const r = await measure(protocol, server, size, settings);
          byServer[server].push(r);
          runs.push(r);
          console.error(
            `  ${protocol} ${sizeLabel(size)} ${server}: ${r.callsPerSec.toFixed(0)} calls/s, ` +
              `p99 ${r.p99Ms.toFixed(2)} ms, ${r.cpuMicrosPerCall.toFixed(0)} µs CPU/call`,
          );
        }
      }
      results.push(medianResult(byServer.ours), medianResult(byServer.bare));
    }
  }
  console.log(`\n${table(results)}\n`);
  for (const line of verdicts(results)) console.log(line);
  return { results, runs };
}

/** The native section, or a message naming the build step when its artifacts are missing. */
async function nativeSection(s: NativeSettings, required: boolean): Promise<NativeResult | undefined> {
  const missing = missingArtifacts(nativeArtifacts(ROOT));
  if (missing.length > 0) {
    const message = `${missing.join(', ')} missing: run \`npm run build:native\` (or \`npm run build\`) first`;
    if (required) throw new Error(`the native section needs ${message}`);
    console.log(`\nnative section skipped: ${message}`);
    return undefined;
  }
  const result = await runNative(ROOT, s, (line) => console.error(line));
  console.log(`\n${nativeReport(result)}`);
  return result;
}

async function main(): Promise<void> {
  const { settings, jsonFile } = settingsFromArgs();
  checkBuilt(ROOT);
  checkCpuSampling();
  const m = machine();
  const started = new Date();
  const loadBefore = loadAverage();
  console.log(`aiges-ts bench — ${started.toISOString()}`);
  console.log(`machine: ${m.nproc} CPUs, ${m.cpu}, Node ${m.node}; load average ${loadBefore} (other work running skews throughput)`);
  if (settings.servers) {
    console.log(
      `settings: concurrency ${settings.concurrency}, warm-up ${settings.warmupMs} ms, window ${settings.durationMs} ms, ` +
        `payloads ${settings.sizes.map(sizeLabel).join(', ')}` +
        (settings.repeat > 1 ? `; ${settings.repeat} runs per case, medians shown` : ''),
    );
  }

  const servers = settings.servers ? await serverSection(settings) : { results: [], runs: [] };
  const native = settings.native === undefined ? undefined : await nativeSection(settings.native, !settings.servers);
  const loadAfter = loadAverage();
  console.log(`\nload average at the end ${loadAfter}; total ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);
  if (jsonFile !== undefined) {
    const json = { date: started.toISOString(), machine: m, loadBefore, loadAfter, settings, ...servers, native };
    writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`results written to ${jsonFile}`);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
process.on('exit', killAll);

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (err: unknown) => {
    killAll();
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
