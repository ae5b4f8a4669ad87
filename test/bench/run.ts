/**
 * `npm run bench`: one suite, every section side by side on this machine, in one run:
 *   (a) grpc      the loader's gRPC echo against bare grpc-js            (server-section.ts)
 *   (b) http      the loader's HTTP route against bare fastify and Flask  (server-section.ts)
 *   (c) native    native call overhead against the bare C call           (native-section.ts)
 *   (d) balancer  `aiges lb` against calling the loader directly         (balancer-section.ts)
 *   (e)           payloads of 1 KiB, 64 KiB and 4 MiB for (a) and (b)
 *   (f) sessions  1,000 sessions at 10 frames/s: frame p99 and RSS       (session-section.ts)
 *   (g) isolation a native call in a plugin process against in-process (isolation-section.ts)
 *       worker    [plugin] isolation = "worker" against "none": a CPU-bound plugin's
 *                 throughput, a trivial plugin's overhead             (worker-section.ts)
 *       tls       [server.tls] against plaintext: echo 1 KiB over gRPC and HTTP (tls-section.ts)
 *       auth      AK/SK: verification per request, and a signed gRPC echo against an unsigned one (auth-section.ts)
 *       batching  dynamic batching against none: a tensor model with a fixed cost per exec, 32 in flight (batching-section.ts)
 *       batch     `aiges batch` against `aiges xtest` on one service; batch's RSS over many items (batch-section.ts)
 *       v2        V2 gRPC ModelInfer against bare grpc-js, 32 in flight; a small ONNX model through the
 *                 loader against onnxruntime-node called directly, one call at a time (v2-section.ts)
 * Each section prints its own table as it finishes; the run ends with one table of every
 * comparison, ours/baseline (summary.ts). Flags: settings.ts.
 *
 * A section whose prerequisite is missing (native build, etcd, Flask) prints the command that
 * provides it and the others still run; with --only naming it, that is an error. A section that
 * fails prints why, the others still run, and the exit status is 1.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { authReport, authSummary, runAuth } from './auth-section.js';
import { balancerReport, balancerSummary, runBalancer } from './balancer-section.js';
import { batchingReport, batchingSummary, runBatching } from './batching-section.js';
import { batchReport, batchSummary, runBatch } from './batch-section.js';
import { isolationReport, isolationSummary, runIsolation } from './isolation-section.js';
import { missingArtifacts, nativeArtifacts } from './native-levels.js';
import { nativeReport, nativeSummary, runNative } from './native-section.js';
import { serverSummary, sizeLabel, table, verdicts } from './report.js';
import { baselinesOf, runProtocol } from './server-section.js';
import { checkBuilt, killAll } from './servers.js';
import { runSessions, sessionReport, sessionSummary } from './session-section.js';
import { concurrencyFor, settingsFromArgs, type Section, type Settings } from './settings.js';
import { summaryTable, type SummaryRow } from './summary.js';
import { runTls, tlsReport, tlsSummary } from './tls-section.js';
import { runV2, v2Report, v2Summary } from './v2-section.js';
import { runWorker, workerReport, workerSummary } from './worker-section.js';
import { ETCD_INSTALL } from '../polaris/etcd.js';
import { processCpuMicros } from '../../loader/tools/proc.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const progress = (line: string) => console.error(line);

/** Thrown when a section cannot run here; its message names what to install or build. */
class Unavailable extends Error {}

const loadAverage = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

/** What each section adds to the summary table and to the JSON output. */
type SectionRun = (s: Settings) => Promise<{ summary: SummaryRow[]; json: unknown }>;

const SECTION_RUNS: Readonly<Record<Section, SectionRun>> = {
  grpc: (s) => servers('grpc', s),
  http: (s) => servers('http', s),
  async native(s) {
    const missing = missingArtifacts(nativeArtifacts(ROOT));
    if (missing.length > 0)
      throw new Unavailable(`${missing.join(', ')} missing: run \`npm run build:native\` (or \`npm run build\`) first`);
    const r = await runNative(ROOT, s.native, progress);
    console.log(`\n${nativeReport(r)}`);
    return { summary: nativeSummary(r), json: r };
  },
  async balancer(s) {
    if (spawnSync('sh', ['-c', 'command -v etcd']).status !== 0) throw new Unavailable(`etcd is not installed: run \`${ETCD_INSTALL}\``);
    const r = await runBalancer(ROOT, s.balancer, progress);
    console.log(`\n${balancerReport(r, s.balancer)}`);
    return { summary: balancerSummary(r, s.balancer), json: r };
  },
  async isolation(s) {
    const missing = missingArtifacts(nativeArtifacts(ROOT));
    if (missing.length > 0)
      throw new Unavailable(`${missing.join(', ')} missing: run \`npm run build:native\` (or \`npm run build\`) first`);
    const r = await runIsolation(ROOT, s.isolation, progress);
    console.log(`\n${isolationReport(r)}`);
    return { summary: isolationSummary(r), json: r };
  },
  async sessions(s) {
    const cases = await runSessions(ROOT, s.sessions, progress, s.profileDir);
    console.log(`\n${sessionReport(cases, s.sessions)}`);
    return { summary: sessionSummary(cases, s.sessions), json: cases };
  },
  async worker(s) {
    const run = await runWorker(ROOT, s.worker, s.repeat, progress);
    console.log(`\n${workerReport(run, s.worker, s.repeat)}`);
    return { summary: workerSummary(run, s.worker), json: run };
  },
  async tls(s) {
    const cases = await runTls(ROOT, s.tls, s.repeat, progress);
    console.log(`\n${tlsReport(cases, s.tls, s.repeat)}`);
    return { summary: tlsSummary(cases, s.tls), json: cases };
  },
  async auth(s) {
    const run = await runAuth(ROOT, s.auth, s.repeat, progress);
    console.log(`\n${authReport(run, s.auth, s.repeat)}`);
    return { summary: authSummary(run, s.auth), json: run };
  },
  async batching(s) {
    const run = await runBatching(ROOT, s.batching, s.repeat, progress);
    console.log(`\n${batchingReport(run, s.batching, s.repeat)}`);
    return { summary: batchingSummary(run, s.batching), json: run };
  },
  async batch(s) {
    const run = await runBatch(ROOT, s.batch, s.repeat, progress);
    console.log(`\n${batchReport(run, s.batch, s.repeat)}`);
    return { summary: batchSummary(run, s.batch), json: run };
  },
  async v2(s) {
    const run = await runV2(ROOT, s.v2, s.repeat, progress, s.profileDir);
    console.log(`\n${v2Report(run, s.v2, s.repeat)}`);
    return { summary: v2Summary(run, s.v2), json: run };
  },
};

async function servers(protocol: 'grpc' | 'http', s: Settings): ReturnType<SectionRun> {
  const baselines = baselinesOf(protocol, (line) => console.log(line));
  const sizes = s.sizes.map((b) => `${sizeLabel(b)} (${concurrencyFor(s, b)} in flight)`).join(', ');
  console.log(
    `\n${protocol}: warm-up ${s.warmupMs} ms, window ${s.durationMs} ms, payloads ${sizes}` +
      (s.repeat > 1 ? `; ${s.repeat} runs per case, medians shown` : ''),
  );
  const { results, runs } = await runProtocol(ROOT, protocol, baselines, s, progress);
  console.log(`\n${table(results)}\n`);
  for (const line of verdicts(results)) console.log(line);
  return { summary: serverSummary(results), json: { results, runs } };
}

async function main(): Promise<number> {
  const settings = settingsFromArgs();
  checkBuilt(ROOT);
  // Fails early, with the reason, where CPU time cannot be read (not Linux, no getconf).
  processCpuMicros(process.pid);
  const machine = { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
  const started = new Date();
  const loadBefore = loadAverage();
  console.log(`aiges-ts bench — ${started.toISOString()}${settings.quick ? ' (--quick: a smoke run, not a measurement)' : ''}`);
  console.log(
    `machine: ${machine.nproc} CPUs, ${machine.cpu}, Node ${machine.node}; load average ${loadBefore} (other work running skews results)`,
  );
  console.log(`sections: ${[...settings.sections].join(', ')}`);

  const summary: SummaryRow[] = [];
  const sections: Record<string, unknown> = {};
  let failed = false;
  for (const section of settings.sections) {
    try {
      const r = await SECTION_RUNS[section](settings);
      summary.push(...r.summary);
      sections[section] = r.json;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof Unavailable && !settings.explicit) {
        console.log(`\n${section} section left out: ${message}`);
        sections[section] = { leftOut: message };
      } else {
        console.log(`\n${section} section FAILED: ${message}`);
        sections[section] = { failed: message };
        failed = true;
      }
      killAll();
    }
  }

  console.log(`\nsummary: every comparison of this run\n\n${summaryTable(summary)}`);
  const loadAfter = loadAverage();
  console.log(`\nload average at the end ${loadAfter}; total ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);
  if (settings.jsonFile !== undefined) {
    const json = {
      date: started.toISOString(),
      machine,
      loadBefore,
      loadAfter,
      settings: { ...settings, sections: [...settings.sections] },
      sections,
      summary,
    };
    writeFileSync(settings.jsonFile, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`results written to ${settings.jsonFile}`);
  }
  return failed ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
process.on('exit', killAll);

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err: unknown) => {
    killAll();
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
