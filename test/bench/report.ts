/** Formats the server sections' results ((a) gRPC, (b) HTTP, at each payload size (e)). */
import type { LoadResult } from './load.js';
import type { Protocol, ServerKind } from './servers.js';
import { markdownTable, ratio, type SummaryRow } from './summary.js';

export interface CaseResult extends LoadResult {
  protocol: Protocol;
  payloadBytes: number;
  server: ServerKind;
  /** Calls in flight (lower for large payloads). */
  concurrency: number;
}

/** Throughput the loader must reach, as a share of the bare Node server's. */
export const TARGET_RATIO = 0.8;

/** What each server is, as the tables name it. */
export function serverLabel(protocol: Protocol, server: ServerKind): string {
  switch (server) {
    case 'ours':
      return 'aiges serve';
    case 'bare':
      return protocol === 'grpc' ? 'bare grpc-js' : 'bare fastify';
    case 'flask':
      return 'Flask (own server, threaded)';
    case 'gunicorn':
      return 'Flask (gunicorn gthread)';
  }
}

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

function oursOf(results: readonly CaseResult[], r: CaseResult): CaseResult | undefined {
  return results.find((o) => o.server === 'ours' && o.protocol === r.protocol && o.payloadBytes === r.payloadBytes);
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** One row per server and case; a baseline's row carries the ratios ours/that baseline. */
export function table(results: readonly CaseResult[]): string {
  const head = [
    'case',
    'server',
    'in flight',
    'calls/s',
    'p50 ms',
    'p99 ms',
    'CPU µs/call',
    'server CPU %',
    'client CPU %',
    'calls/s ours/this',
    'CPU/call ours/this',
  ];
  const rows = results.map((r) => {
    const ours = r.server === 'ours' ? undefined : oursOf(results, r);
    return [
      caseLabel(r),
      serverLabel(r.protocol, r.server),
      String(r.concurrency),
      fixed(r.callsPerSec, 0),
      fixed(r.p50Ms, 2),
      fixed(r.p99Ms, 2),
      fixed(r.cpuMicrosPerCall, 0),
      fixed(r.serverCpuPercent, 0),
      fixed(r.clientCpuPercent, 0),
      ours === undefined ? '' : ratio(ours.callsPerSec, r.callsPerSec),
      ours === undefined ? '' : ratio(ours.cpuMicrosPerCall, r.cpuMicrosPerCall),
    ];
  });
  return markdownTable(head, rows);
}

/** One line per case saying whether ours reached TARGET_RATIO of the bare Node server's throughput. */
export function verdicts(results: readonly CaseResult[]): string[] {
  return results.flatMap((bare) => {
    const ours = bare.server === 'bare' ? oursOf(results, bare) : undefined;
    if (ours === undefined) return [];
    const r = ours.callsPerSec / bare.callsPerSec;
    const verdict = r >= TARGET_RATIO ? 'meets' : 'BELOW';
    return [
      `${caseLabel(ours)}: ours/${serverLabel(bare.protocol, 'bare')} throughput ${r.toFixed(2)}× — ${verdict} the ${TARGET_RATIO}× target`,
    ];
  });
}

/** The summary rows of (a) and (b): throughput and CPU per call against every baseline. */
export function serverSummary(results: readonly CaseResult[]): SummaryRow[] {
  return results.flatMap((base) => {
    const ours = base.server === 'ours' ? undefined : oursOf(results, base);
    if (ours === undefined) return [];
    const common = {
      section: base.protocol === 'grpc' ? '(a)' : '(b)',
      case: caseLabel(base),
      baseline: serverLabel(base.protocol, base.server),
    };
    return [
      { ...common, metric: 'calls/s', higherIsBetter: true, ours: ours.callsPerSec, baselineValue: base.callsPerSec },
      { ...common, metric: 'server CPU µs/call', higherIsBetter: false, ours: ours.cpuMicrosPerCall, baselineValue: base.cpuMicrosPerCall },
    ];
  });
}
