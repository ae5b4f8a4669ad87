/**
 * The `native` section of `npm run bench`: what the loader adds to a native once call, and how
 * close a 16 MiB echo comes to this machine's memcpy bandwidth. Runs the levels of
 * native-levels.ts one after another (sequential calls, one in flight) and prints two tables
 * and the verdicts against the targets:
 *   - (c) − (a) at p50 for a 64 B echo ≤ 20 µs (the data plane's cost per call over the bare C call);
 *   - a 16 MiB echo through (c) ≥ 25 % of memcpy bandwidth.
 * Throughput counts the payload once per call (16 MiB in, the same 16 MiB back out: 16 MiB per
 * call) over the summed call times, MB = 1e6 bytes; memcpy GB/s counts each byte copied once,
 * GB = 1e9 bytes.
 */
import { dataplaneLevel, directLevel, grpcLevel, hostLevel, loadBenchAddon, nativeArtifacts, type LoopCount } from './native-levels.js';
import { sizeLabel } from './report.js';
import type { SummaryRow } from './summary.js';

export const ADDED_P50_TARGET_US = 20;
export const MEMCPY_SHARE_TARGET = 0.25;
const SMALL_BYTES = 64;
const LARGE_BYTES = 16 * 1024 * 1024;

type Level = 'a' | 'b' | 'c' | 'd' | 'bare' | 'hop';
/** Table order, then the label of each row. */
const LEVELS: readonly Level[] = ['a', 'b', 'c', 'd', 'bare', 'hop'];
const LEVEL_LABELS: Readonly<Record<Level, string>> = {
  a: '(a) direct C loop: wrapperExec + wrapperExecFree',
  b: '(b) NativeLibrary.exec from JS (host)',
  c: '(c) data plane in-process (createHarness, native kind)',
  d: '(d) gRPC Infer round trip (loader process)',
  bare: 'context: the same gRPC loop against the bare grpc-js echo',
  hop: 'context: thread round trip (condvar hand-off to a sleeping thread and back)',
};

interface SizeCounts {
  direct: number;
  host: LoopCount;
  dataplane: LoopCount;
  grpc: LoopCount;
}

export interface NativeSettings {
  small: SizeCounts;
  large: SizeCounts;
  memcpyIterations: number;
  threadRoundTrips: number;
}

/** (a)'s calls; then [untimed, timed] calls of (b) and (c), and of (d). */
function sizeCounts(direct: number, inProcess: [number, number], grpc: [number, number]): SizeCounts {
  const loop = { warmup: inProcess[0], calls: inProcess[1] };
  return { direct, host: loop, dataplane: loop, grpc: { warmup: grpc[0], calls: grpc[1] } };
}

export function nativeSettings(quick: boolean): NativeSettings {
  // NOTE: 16 MiB calls are bimodal (a V8 full collection lands on every few), so even the quick run
  // makes 20 of them; the full run makes enough to average that out.
  return quick
    ? {
        small: sizeCounts(20_000, [500, 2_000], [100, 500]),
        large: sizeCounts(20, [2, 20], [1, 5]),
        memcpyIterations: 50,
        threadRoundTrips: 2_000,
      }
    : {
        small: sizeCounts(200_000, [2_000, 20_000], [500, 5_000]),
        large: sizeCounts(200, [10, 200], [3, 30]),
        memcpyIterations: 200,
        threadRoundTrips: 20_000,
      };
}

export interface LevelStats {
  level: Level;
  payloadBytes: number;
  calls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /** Payload bytes per call × calls / summed call time, in 1e6 bytes/s. */
  mbPerSec: number;
}

export interface NativeResult {
  memcpy: { bytes: number; bestGBps: number; medianGBps: number };
  levels: LevelStats[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function stats(level: Level, payloadBytes: number, ns: Float64Array): LevelStats {
  const sorted = Float64Array.from(ns).sort();
  let total = 0;
  for (const v of ns) total += v;
  return {
    level,
    payloadBytes,
    calls: ns.length,
    p50Us: percentile(sorted, 50) / 1e3,
    p99Us: percentile(sorted, 99) / 1e3,
    meanUs: total / ns.length / 1e3,
    mbPerSec: ((payloadBytes * ns.length) / total) * 1e3,
  };
}

/** Runs every level at both sizes; `progress` gets one line per level as it finishes. */
export async function runNative(root: string, s: NativeSettings, progress: (line: string) => void): Promise<NativeResult> {
  const artifacts = nativeArtifacts(root);
  const addon = loadBenchAddon(artifacts);
  const memcpy = { bytes: LARGE_BYTES, ...addon.memcpyBandwidth(LARGE_BYTES, s.memcpyIterations) };
  progress(
    `  native memcpy ${sizeLabel(LARGE_BYTES)}: best ${memcpy.bestGBps.toFixed(1)} GB/s, median ${memcpy.medianGBps.toFixed(1)} GB/s`,
  );
  const levels: LevelStats[] = [];
  const record = (level: Level, bytes: number, ns: Float64Array) => {
    const r = stats(level, bytes, ns);
    levels.push(r);
    progress(
      `  native ${level === 'hop' ? 'thread round trip' : `${sizeLabel(bytes)} (${level})`}: ` +
        `p50 ${r.p50Us.toFixed(2)} µs, p99 ${r.p99Us.toFixed(2)} µs, mean ${r.meanUs.toFixed(2)} µs`,
    );
  };
  record('hop', SMALL_BYTES, addon.threadRoundTrip(s.threadRoundTrips));
  const sizes = [
    [SMALL_BYTES, s.small],
    [LARGE_BYTES, s.large],
  ] as const;
  // In-process levels first, (a) before the others so that no other copy of the library is
  // initialised meanwhile; the server processes last.
  for (const [bytes, counts] of sizes) {
    record('a', bytes, directLevel(addon, artifacts, bytes, counts.direct));
    record('b', bytes, await hostLevel(artifacts, bytes, counts.host));
    record('c', bytes, await dataplaneLevel(artifacts, bytes, counts.dataplane));
  }
  for (const [bytes, counts] of sizes) {
    record('d', bytes, await grpcLevel(root, 'loader', bytes, counts.grpc));
    record('bare', bytes, await grpcLevel(root, 'bare', bytes, counts.grpc));
  }
  return { memcpy, levels };
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
const markdown = (head: string[], rows: string[][]) => [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');

function find(r: NativeResult, bytes: number, level: Level): LevelStats | undefined {
  return r.levels.find((x) => x.payloadBytes === bytes && x.level === level);
}

function rowsOf(r: NativeResult, bytes: number): LevelStats[] {
  return LEVELS.flatMap((l) => find(r, bytes, l) ?? []);
}

function smallTable(r: NativeResult): string {
  const direct = find(r, SMALL_BYTES, 'a');
  const added = (x: LevelStats) =>
    x.level === 'b' || x.level === 'c' || x.level === 'd' ? fixed(x.p50Us - (direct?.p50Us ?? NaN), 2) : '';
  return markdown(
    ['level', 'calls', 'p50 µs', 'p99 µs', 'mean µs', 'added at p50 over (a), µs'],
    rowsOf(r, SMALL_BYTES).map((x) => [
      LEVEL_LABELS[x.level],
      String(x.calls),
      fixed(x.p50Us, 2),
      fixed(x.p99Us, 2),
      fixed(x.meanUs, 2),
      added(x),
    ]),
  );
}

function largeTable(r: NativeResult): string {
  const memcpyMBps = r.memcpy.bestGBps * 1e3;
  return markdown(
    ['level', 'calls', 'p50 ms', 'p99 ms', 'mean ms', 'MB/s', '% of memcpy (best)'],
    rowsOf(r, LARGE_BYTES).map((x) => [
      LEVEL_LABELS[x.level],
      String(x.calls),
      fixed(x.p50Us / 1e3, 2),
      fixed(x.p99Us / 1e3, 2),
      fixed(x.meanUs / 1e3, 2),
      fixed(x.mbPerSec, 0),
      `${fixed((x.mbPerSec / memcpyMBps) * 100, 1)} %`,
    ]),
  );
}

/** The section as printed: a heading line, both tables, then the verdicts. */
export function nativeReport(r: NativeResult): string {
  const a = find(r, SMALL_BYTES, 'a');
  const b = find(r, SMALL_BYTES, 'b');
  const c = find(r, SMALL_BYTES, 'c');
  const large = find(r, LARGE_BYTES, 'c');
  const out = [
    'native: demo/native-echo once calls (sync wrapperExec, one native worker thread), sequential, one call in flight',
    '',
    `${sizeLabel(SMALL_BYTES)} echo, time per call:`,
    '',
    smallTable(r),
    '',
    `${sizeLabel(LARGE_BYTES)} echo; MB/s = ${sizeLabel(LARGE_BYTES)} of payload per call (sent, and the same bytes ` +
      `echoed back, counted once) / mean time per call, MB = 1e6 bytes; memcpy of ${sizeLabel(r.memcpy.bytes)} ` +
      `between two touched malloc buffers: best ${fixed(r.memcpy.bestGBps, 1)} GB/s, median ${fixed(r.memcpy.medianGBps, 1)} GB/s`,
    '',
    largeTable(r),
    '',
  ];
  if (a !== undefined && b !== undefined && c !== undefined) {
    const added = c.p50Us - a.p50Us;
    out.push(
      `native ${sizeLabel(SMALL_BYTES)}: the loader adds ${fixed(added, 2)} µs per call at p50, (c) − (a) — ` +
        `${added <= ADDED_P50_TARGET_US ? 'meets' : 'ABOVE'} the ≤ ${ADDED_P50_TARGET_US} µs target; ` +
        `the host alone adds ${fixed(b.p50Us - a.p50Us, 2)} µs, (b) − (a)`,
    );
  }
  if (large !== undefined) {
    const share = large.mbPerSec / (r.memcpy.bestGBps * 1e3);
    out.push(
      `native ${sizeLabel(LARGE_BYTES)}: (c) ${fixed(large.mbPerSec, 0)} MB/s = ${fixed(share * 100, 1)} % of memcpy (best) — ` +
        `${share >= MEMCPY_SHARE_TARGET ? 'meets' : 'BELOW'} the ≥ ${MEMCPY_SHARE_TARGET * 100} % target`,
    );
  }
  return out.join('\n');
}

/** The short names the summary table uses. */
const SUMMARY_LABELS: Readonly<Record<Level, string>> = {
  a: 'direct C call, (a)',
  b: 'host, (b)',
  c: 'data plane, (c)',
  d: 'loader over gRPC, (d)',
  bare: 'bare grpc-js echo',
  hop: 'thread round trip',
};

/** The summary rows of (c): the loader's native paths against the bare C call and the bare gRPC echo. */
export function nativeSummary(r: NativeResult): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const add = (bytes: number, ours: Level, base: Level, metric: 'p50 µs' | 'MB/s') => {
    const o = find(r, bytes, ours);
    const b = find(r, bytes, base);
    if (o === undefined || b === undefined) return;
    const mb = metric === 'MB/s';
    rows.push({
      section: '(c)',
      case: `native-echo ${sizeLabel(bytes)} through the ${SUMMARY_LABELS[ours]}`,
      metric,
      higherIsBetter: mb,
      ours: mb ? o.mbPerSec : o.p50Us,
      baseline: SUMMARY_LABELS[base],
      baselineValue: mb ? b.mbPerSec : b.p50Us,
    });
  };
  add(SMALL_BYTES, 'c', 'a', 'p50 µs');
  add(SMALL_BYTES, 'd', 'bare', 'p50 µs');
  add(LARGE_BYTES, 'c', 'a', 'MB/s');
  add(LARGE_BYTES, 'd', 'bare', 'MB/s');
  return rows;
}
