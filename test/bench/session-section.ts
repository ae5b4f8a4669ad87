/**
 * Section (f) of `npm run bench`: many concurrent sessions at a fixed frame rate (by default
 * 1,000 at 10 frames/s, 3,200 B frames: 100 ms of 16 kHz 16-bit mono audio each) against the
 * loader serving demo/echo in session mode, and against the bare grpc-js Session echo
 * (bare-grpc.ts). Reports frame latency (session-load.ts) and the server process's resident
 * memory from /proc (loader/tools/proc.ts): idle (before the first session), steady (median VmRSS
 * sampled during the window) and peak (VmHWM once every session has ended).
 */
import { runSessionLoad, type SessionLoadResult, type SessionPlan } from './session-load.js';
import { startServer } from './servers.js';
import { processMemory, ProcSampler, treeCpuMicros } from '../../loader/tools/proc.js';
import { formatValue, markdownTable, ratio, type SummaryRow } from './summary.js';

export type SessionSettings = SessionPlan;

export function sessionSettings(quick: boolean): SessionSettings {
  const common = { framesPerSec: 10, frameBytes: 3_200, channels: 10 };
  return quick
    ? { ...common, sessions: 200, rampMs: 1_000, warmupMs: 1_000, durationMs: 2_000 }
    : { ...common, sessions: 1_000, rampMs: 5_000, warmupMs: 3_000, durationMs: 10_000 };
}

type Server = 'ours' | 'bare';
const LABELS: Readonly<Record<Server, string>> = { ours: 'aiges serve (demo/echo sessions)', bare: 'bare grpc-js Session echo' };
const SAMPLE_EVERY_MS = 250;

export interface SessionCase extends SessionLoadResult {
  server: Server;
  idleRssKiB: number;
  steadyRssKiB: number;
  peakRssKiB: number;
  serverCpuPercent: number;
  /** Server CPU over the window / answers received in it. */
  cpuMicrosPerAnswer: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[s.length >> 1] as number);
}

async function measure(root: string, server: Server, s: SessionSettings, profileDir: string | undefined): Promise<SessionCase> {
  // The loader admits once calls plus sessions up to its capacity: room for every session.
  const capacity = String(Math.ceil(s.sessions * 1.1));
  const proc = await startServer(root, server, 'grpc', { loaderArgs: ['--capacity', capacity], profileDir });
  try {
    const idleRssKiB = processMemory(proc.pid).rssBytes / 1024;
    let sampler: ProcSampler | undefined;
    let samples: number[] = [];
    let cpu0 = 0;
    let cpuMicros = 0;
    let load: SessionLoadResult;
    try {
      load = await runSessionLoad({
        port: proc.port,
        ...s,
        onWindow: (phase) => {
          if (phase === 'start') {
            sampler = new ProcSampler(proc.pid, SAMPLE_EVERY_MS);
            cpu0 = treeCpuMicros(proc.pid);
          } else {
            cpuMicros = treeCpuMicros(proc.pid) - cpu0;
            samples = sampler?.stop().readings.map((r) => r.rssBytes / 1024) ?? [];
          }
        },
      });
    } finally {
      sampler?.stop();
    }
    return {
      server,
      ...load,
      idleRssKiB,
      steadyRssKiB: median(samples),
      peakRssKiB: processMemory(proc.pid).peakRssBytes / 1024,
      serverCpuPercent: (cpuMicros / 1e6 / (s.durationMs / 1000)) * 100,
      cpuMicrosPerAnswer: cpuMicros / (load.answeredPerSec * (s.durationMs / 1000)),
    };
  } finally {
    await proc.stop();
  }
}

/** Ours, then the bare server; `progress` gets a line as each finishes. */
export async function runSessions(
  root: string,
  s: SessionSettings,
  progress: (line: string) => void,
  profileDir?: string,
): Promise<SessionCase[]> {
  const cases: SessionCase[] = [];
  for (const server of ['ours', 'bare'] as const) {
    const c = await measure(root, server, s, profileDir);
    cases.push(c);
    progress(
      `  sessions ${server}: ${c.framesPerSec.toFixed(0)} frames/s sent, ${c.answeredPerSec.toFixed(0)} answered, p99 ${c.p99Ms.toFixed(2)} ms, ` +
        `RSS steady ${(c.steadyRssKiB / 1024).toFixed(0)} MiB, peak ${(c.peakRssKiB / 1024).toFixed(0)} MiB`,
    );
  }
  return cases;
}

const mib = (kib: number) => formatValue(kib / 1024);

export function sessionReport(cases: readonly SessionCase[], s: SessionSettings): string {
  const ours = cases.find((c) => c.server === 'ours');
  const rows = cases.map((c) => [
    LABELS[c.server],
    String(c.sessions),
    formatValue(c.framesPerSec),
    formatValue(c.answeredPerSec),
    formatValue(c.p50Ms),
    formatValue(c.p99Ms),
    formatValue(c.maxMs),
    formatValue(c.sendLagP99Ms),
    mib(c.idleRssKiB),
    mib(c.steadyRssKiB),
    mib(c.peakRssKiB),
    formatValue(c.serverCpuPercent),
    formatValue(c.cpuMicrosPerAnswer),
    formatValue(c.clientCpuPercent),
    c.server === 'ours' || ours === undefined ? '' : ratio(ours.p99Ms, c.p99Ms),
    c.server === 'ours' || ours === undefined ? '' : ratio(ours.steadyRssKiB, c.steadyRssKiB),
  ]);
  return [
    `sessions: ${s.sessions} concurrent gRPC sessions at ${s.framesPerSec} frames/s each, ${s.frameBytes} B frames, ` +
      `over ${s.channels} connections; opened over ${s.rampMs} ms, warm-up ${s.warmupMs} ms, window ${s.durationMs} ms; ` +
      'frame latency = frame written → its echo received; answers/s below frames/s sent: the server ' +
      '(or the client, see send lag) fell behind and latency grew through the window',
    '',
    markdownTable(
      [
        'server',
        'sessions',
        'frames/s sent',
        'answers/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'send lag p99 ms',
        'RSS idle MiB',
        'RSS steady MiB',
        'RSS peak MiB',
        'server CPU %',
        'server CPU µs/answer',
        'client CPU %',
        'p99 ours/this',
        'RSS steady ours/this',
      ],
      rows,
    ),
  ].join('\n');
}

export function sessionSummary(cases: readonly SessionCase[], s: SessionSettings): SummaryRow[] {
  const ours = cases.find((c) => c.server === 'ours');
  const bare = cases.find((c) => c.server === 'bare');
  if (ours === undefined || bare === undefined) return [];
  const common = {
    section: '(f)',
    case: `${s.sessions} sessions × ${s.framesPerSec} frames/s`,
    baseline: LABELS.bare,
    higherIsBetter: false,
  };
  return [
    { ...common, metric: 'frame latency p99 ms', ours: ours.p99Ms, baselineValue: bare.p99Ms },
    { ...common, metric: 'server CPU µs/answer', ours: ours.cpuMicrosPerAnswer, baselineValue: bare.cpuMicrosPerAnswer },
    { ...common, metric: 'RSS steady MiB', ours: ours.steadyRssKiB / 1024, baselineValue: bare.steadyRssKiB / 1024 },
    { ...common, metric: 'RSS peak MiB', ours: ours.peakRssKiB / 1024, baselineValue: bare.peakRssKiB / 1024 },
  ];
}
