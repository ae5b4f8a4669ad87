/**
 * The `isolation` section of `npm run bench`, (g): what `[plugin] isolation = "process"` costs a
 * native once call against the same call in the loader's process. Both run demo/native-echo
 * (sync wrapperExec, one native worker thread, `plugin.concurrency` 1) through the loader's real
 * registry and data plane (createPlane, as `aiges serve` assembles them), sequential calls, one in
 * flight, each output released after the call as the adapters do once a response is serialized:
 *   in-process  `isolation = "none"`: the data plane calls the native kind's wrapper directly
 *   process     `isolation = "process"`: the same wrapper in a plugin process, over the channel
 *               and the shared region
 * The two alternate, `rounds` times each (a fresh plane per run); the tables show per-run values
 * and the medians over the runs, which the verdicts and the summary use:
 *   - 64 B: added µs at p50 (process − in-process) ≤ 25;
 *   - 16 MiB: throughput of process ≥ 50 % of in-process.
 */
import { pino } from 'pino';
import { ConfigSchema } from '../../loader/config/schema.js';
import { createPlane, loadOptions } from '../../loader/plane.js';
import { DataStatus, DataType, type DataItem } from '../../plugins/types.js';
import { type LoopCount, NATIVE_SERVICE, nativeArtifacts, timeLoop } from './native-levels.js';
import { sizeLabel } from './report.js';
import type { SummaryRow } from './summary.js';

export const ADDED_P50_TARGET_US = 25;
export const THROUGHPUT_SHARE_TARGET = 0.5;
const SMALL_BYTES = 64;
const LARGE_BYTES = 16 * 1024 * 1024;

type Isolation = 'none' | 'process';
const LABELS: Readonly<Record<Isolation, string>> = {
  none: 'in-process (isolation = "none")',
  process: 'plugin process (isolation = "process")',
};

export interface IsolationSettings {
  /** Runs of each isolation per size, alternating. */
  rounds: number;
  small: LoopCount;
  large: LoopCount;
}

export function isolationSettings(quick: boolean): IsolationSettings {
  return quick
    ? { rounds: 1, small: { warmup: 500, calls: 2_000 }, large: { warmup: 3, calls: 20 } }
    : { rounds: 3, small: { warmup: 5_000, calls: 10_000 }, large: { warmup: 10, calls: 100 } };
}

export interface IsolationRun {
  isolation: Isolation;
  payloadBytes: number;
  calls: number;
  p50Us: number;
  p99Us: number;
  /** Payload bytes per call × calls / summed call time, in 1e6 bytes/s. */
  mbPerSec: number;
}

export interface IsolationResult {
  runs: IsolationRun[];
}

/** One run: a fresh registry and data plane serving the echo library under `isolation`. */
async function run(root: string, isolation: Isolation, payloadBytes: number, count: LoopCount): Promise<IsolationRun> {
  const config = ConfigSchema.parse({
    plugin: {
      path: nativeArtifacts(root).echo,
      kind: 'native',
      isolation,
      concurrency: 1,
      native: { service: NATIVE_SERVICE, mode: 'once', async: false },
    },
    limits: { max_message_bytes: 2 * LARGE_BYTES },
  });
  const plane = createPlane(config, pino({ level: 'silent' }));
  const instance = await plane.registry.load(loadOptions(config));
  try {
    const payload = Buffer.alloc(payloadBytes, 'aiges-bench ');
    const items: DataItem[] = [{ key: 'data', type: DataType.OTHER, status: DataStatus.ONCE, encoding: '', attributes: {}, data: payload }];
    const request = { service: NATIVE_SERVICE, params: {}, headers: {}, items };
    const first = await plane.dataplane.infer(request);
    if (!first[0]?.data.equals(payload)) throw new Error(`isolation ${isolation}: the echo did not return the payload`);
    instance.releaseOutputs(first);
    const ns = await timeLoop(count, async () => {
      // As the adapters do after serializing a response (Dataplane.releaseOutputs).
      instance.releaseOutputs(await plane.dataplane.infer(request));
    });
    const sorted = Float64Array.from(ns).sort();
    let total = 0;
    for (const v of ns) total += v;
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! / 1e3;
    return {
      isolation,
      payloadBytes,
      calls: ns.length,
      p50Us: at(50),
      p99Us: at(99),
      mbPerSec: ((payloadBytes * ns.length) / total) * 1e3,
    };
  } finally {
    await plane.registry.retireAll(1_000, 10_000);
  }
}

/** Every run, in-process and process alternating; `progress` gets one line per run. */
export async function runIsolation(root: string, s: IsolationSettings, progress: (line: string) => void): Promise<IsolationResult> {
  const runs: IsolationRun[] = [];
  for (const [bytes, count] of [
    [SMALL_BYTES, s.small],
    [LARGE_BYTES, s.large],
  ] as const) {
    for (let round = 0; round < s.rounds; round++) {
      // NOTE: the order flips each round, so neither side always runs on the warmer machine.
      const order: Isolation[] = round % 2 === 0 ? ['none', 'process'] : ['process', 'none'];
      for (const isolation of order) {
        const r = await run(root, isolation, bytes, count);
        runs.push(r);
        progress(
          `  isolation ${sizeLabel(bytes)} ${isolation} (round ${round + 1}): p50 ${r.p50Us.toFixed(2)} µs, ` +
            `p99 ${r.p99Us.toFixed(2)} µs, ${r.mbPerSec.toFixed(0)} MB/s`,
        );
      }
    }
  }
  return { runs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Medians {
  p50Us: number;
  p99Us: number;
  mbPerSec: number;
  runs: IsolationRun[];
}

function medians(r: IsolationResult, isolation: Isolation, bytes: number): Medians | undefined {
  const runs = r.runs.filter((x) => x.isolation === isolation && x.payloadBytes === bytes);
  if (runs.length === 0) return undefined;
  return {
    p50Us: median(runs.map((x) => x.p50Us)),
    p99Us: median(runs.map((x) => x.p99Us)),
    mbPerSec: median(runs.map((x) => x.mbPerSec)),
    runs,
  };
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const line = (cells: string[]) => `| ${cells.join(' | ')} |`;

function table(r: IsolationResult, bytes: number): string {
  const head = ['isolation', 'runs × calls', 'p50 µs per run', 'median p50 µs', 'median p99 µs', 'MB/s per run', 'median MB/s'];
  const rows = (['none', 'process'] as const).flatMap((isolation) => {
    const m = medians(r, isolation, bytes);
    if (m === undefined) return [];
    return [
      line([
        LABELS[isolation],
        `${m.runs.length} × ${m.runs[0]!.calls}`,
        m.runs.map((x) => fixed(x.p50Us, 1)).join(', '),
        fixed(m.p50Us, 2),
        fixed(m.p99Us, 2),
        m.runs.map((x) => fixed(x.mbPerSec, 0)).join(', '),
        fixed(m.mbPerSec, 0),
      ]),
    ];
  });
  return [line(head), line(head.map(() => '---')), ...rows].join('\n');
}

/** The section as printed: both tables, then the verdicts. */
export function isolationReport(r: IsolationResult): string {
  const out = [
    'isolation: demo/native-echo once calls through the data plane, in the loader process and in a plugin process ' +
      '(sync wrapperExec, concurrency 1, one call in flight; runs alternate, medians over runs)',
    '',
    `${sizeLabel(SMALL_BYTES)} echo:`,
    '',
    table(r, SMALL_BYTES),
    '',
    `${sizeLabel(LARGE_BYTES)} echo (MB/s = ${sizeLabel(LARGE_BYTES)} of payload per call / mean time per call, MB = 1e6 bytes):`,
    '',
    table(r, LARGE_BYTES),
    '',
  ];
  const [none, proc] = [medians(r, 'none', SMALL_BYTES), medians(r, 'process', SMALL_BYTES)];
  if (none !== undefined && proc !== undefined) {
    const added = proc.p50Us - none.p50Us;
    out.push(
      `isolation ${sizeLabel(SMALL_BYTES)}: a plugin process adds ${fixed(added, 2)} µs per call at p50 — ` +
        `${added <= ADDED_P50_TARGET_US ? 'meets' : 'ABOVE'} the ≤ ${ADDED_P50_TARGET_US} µs target`,
    );
  }
  const [noneL, procL] = [medians(r, 'none', LARGE_BYTES), medians(r, 'process', LARGE_BYTES)];
  if (noneL !== undefined && procL !== undefined) {
    const share = procL.mbPerSec / noneL.mbPerSec;
    out.push(
      `isolation ${sizeLabel(LARGE_BYTES)}: a plugin process moves ${fixed(share * 100, 1)} % of the in-process throughput — ` +
        `${share >= THROUGHPUT_SHARE_TARGET ? 'meets' : 'BELOW'} the ≥ ${THROUGHPUT_SHARE_TARGET * 100} % target`,
    );
  }
  return out.join('\n');
}

/** The summary rows of (g): a plugin process against in-process, per size. */
export function isolationSummary(r: IsolationResult): SummaryRow[] {
  const row = (bytes: number, metric: string, higherIsBetter: boolean, value: (m: Medians) => number): SummaryRow[] => {
    const ours = medians(r, 'process', bytes);
    const base = medians(r, 'none', bytes);
    if (ours === undefined || base === undefined) return [];
    return [
      {
        section: '(g)',
        case: `native-echo ${sizeLabel(bytes)} in a plugin process (isolation = "process")`,
        metric,
        higherIsBetter,
        ours: value(ours),
        baseline: 'in-process (isolation = "none")',
        baselineValue: value(base),
      },
    ];
  };
  return [...row(SMALL_BYTES, 'p50 µs', false, (m) => m.p50Us), ...row(LARGE_BYTES, 'MB/s', true, (m) => m.mbPerSec)];
}
