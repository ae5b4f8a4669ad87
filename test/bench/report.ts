/** Formats benchmark results: the markdown table run.ts prints and BENCHMARKS.md shows. */
import type { LoadResult } from './load.js';
import type { Protocol, ServerKind } from './servers.js';

export interface CaseResult extends LoadResult {
  protocol: Protocol;
  payloadBytes: number;
  server: ServerKind;
}

/** Throughput the loader must reach, as a share of the bare server's. */
export const TARGET_RATIO = 0.8;

/** The median of each measured column over repeated runs of one case (the runs themselves when one). */
export function medianResult(runs: readonly CaseResult[]): CaseResult {
  const first = runs[0];
  if (first === undefined) throw new Error('medianResult needs at least one run');
  const median = (pick: (r: CaseResult) => number) => {
    const values = runs.map(pick).sort((a, b) => a - b);
    const mid = values.length >> 1;
    return values.length % 2 === 1 ? (values[mid] as number) : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
  };
  return {
    ...first,
    calls: median((r) => r.calls),
    seconds: median((r) => r.seconds),
    callsPerSec: median((r) => r.callsPerSec),
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    maxMs: median((r) => r.maxMs),
    cpuMicrosPerCall: median((r) => r.cpuMicrosPerCall),
    serverCpuPercent: median((r) => r.serverCpuPercent),
    clientCpuPercent: median((r) => r.clientCpuPercent),
  };
}

export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function caseLabel(r: CaseResult): string {
  return `${r.protocol === 'grpc' ? 'gRPC Infer' : 'HTTP private'} ${sizeLabel(r.payloadBytes)}`;
}

function bareOf(results: readonly CaseResult[], r: CaseResult): CaseResult | undefined {
  return results.find((b) => b.server === 'bare' && b.protocol === r.protocol && b.payloadBytes === r.payloadBytes);
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function table(results: readonly CaseResult[]): string {
  const head = ['case', 'server', 'calls/s', 'p50 ms', 'p99 ms', 'CPU µs/call', 'server CPU %', 'client CPU %', 'calls/s ours/bare', 'CPU/call ours/bare'];
  const rows = results.map((r) => {
    const bare = r.server === 'ours' ? bareOf(results, r) : undefined;
    return [
      caseLabel(r),
      r.server,
      fixed(r.callsPerSec, 0),
      fixed(r.p50Ms, 2),
      fixed(r.p99Ms, 2),
      fixed(r.cpuMicrosPerCall, 0),
      fixed(r.serverCpuPercent, 0),
      fixed(r.clientCpuPercent, 0),
      bare === undefined ? '' : `${fixed(r.callsPerSec / bare.callsPerSec, 2)}×`,
      bare === undefined ? '' : `${fixed(r.cpuMicrosPerCall / bare.cpuMicrosPerCall, 2)}×`,
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One line per case saying whether ours reached TARGET_RATIO of the bare throughput. */
export function verdicts(results: readonly CaseResult[]): string[] {
  return results.flatMap((r) => {
    const bare = r.server === 'ours' ? bareOf(results, r) : undefined;
    if (bare === undefined) return [];
    const ratio = r.callsPerSec / bare.callsPerSec;
    const verdict = ratio >= TARGET_RATIO ? 'meets' : 'BELOW';
    return [`${caseLabel(r)}: ours/bare throughput ${ratio.toFixed(2)}× — ${verdict} the ${TARGET_RATIO}× target`];
  });
}
