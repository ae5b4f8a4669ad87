/**
 * The `batch` section of `npm run bench` (issue 17 item 5): `aiges batch` against `aiges xtest` on
 * the same service at the same concurrency, and `aiges batch`'s memory over many items.
 *
 * - Throughput: one `aiges serve demo/echo` child; `aiges xtest <addr> echo -c C -n N -t text=…`
 *   and `aiges batch <addr> echo --input <N-line JSONL> -c C` (each a CLI child, the same 1 KiB
 *   text item per call, over gRPC), back to back, the order alternating per repeat; each tool's
 *   own figure for its run (xtest requests/s, batch items/s: both over the calls, not the startup).
 *   Medians. Batch also reads, parses and writes a line per item, which xtest does not.
 * - Memory: `aiges batch` over `items` JSONL lines (100,000; --quick 10,000), its RSS sampled from
 *   /proc every 200 ms: the peak over the second half of the run against the peak over the first
 *   half, so that growth with the item count shows as a ratio above 1 (the heap settles within
 *   the first half).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcSampler } from '../../loader/tools/proc.js';
import { median } from './balancer-section.js';
import { LOADER_CLI, startServer } from './servers.js';
import { formatValue, markdownTable, type SummaryRow } from './summary.js';

export interface BatchSettings {
  /** Calls per throughput run. */
  calls: number;
  concurrency: number;
  bytes: number;
  /** Items of the memory run. */
  items: number;
}

export function batchSettings(quick: boolean): BatchSettings {
  return quick
    ? { calls: 2_000, concurrency: 16, bytes: 1024, items: 10_000 }
    : { calls: 20_000, concurrency: 16, bytes: 1024, items: 100_000 };
}

export interface BatchRun {
  xtestPerS: number[];
  batchPerS: number[];
  xtestMedian: number;
  batchMedian: number;
  memory: { items: number; elapsedMs: number; firstHalfPeakMiB: number; secondHalfPeakMiB: number; lastMiB: number };
}

/** Runs the CLI to its end; its stdout parsed as JSON. With `onPid`, sees the child's pid first. */
async function cliJson(
  root: string,
  args: string[],
  onPid?: (pid: number) => ProcSampler,
): Promise<{ json: Record<string, unknown>; sampler?: ProcSampler }> {
  const child = spawn(process.execPath, [LOADER_CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = onPid !== undefined && child.pid !== undefined ? onPid(child.pid) : undefined;
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`aiges ${args[0]} exited ${code}: ${err.slice(0, 500)}`);
  return { json: JSON.parse(out) as Record<string, unknown>, ...(sampler === undefined ? {} : { sampler }) };
}

function writeRequests(path: string, n: number, text: string): void {
  const b64 = Buffer.from(text).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify({ id: i, payload: { text: { encoding: 'utf8', status: 3, text: b64 } } }));
  writeFileSync(path, `${lines.join('\n')}\n`);
}

export async function runBatch(root: string, s: BatchSettings, repeat: number, progress: (line: string) => void): Promise<BatchRun> {
  const dir = mkdtempSync(join(tmpdir(), 'aiges-bench-batch-'));
  const text = 'x'.repeat(s.bytes);
  const requests = join(dir, 'requests.jsonl');
  writeRequests(requests, s.calls, text);
  const server = await startServer(root, 'ours', 'grpc');
  const addr = `127.0.0.1:${server.port}`;
  const xtestPerS: number[] = [];
  const batchPerS: number[] = [];
  try {
    const xtest = async () => {
      const { json } = await cliJson(root, [
        'xtest',
        addr,
        'echo',
        '-c',
        String(s.concurrency),
        '-n',
        String(s.calls),
        '-t',
        `text=${text}`,
        '--json',
        '--no-progress',
      ]);
      xtestPerS.push((json['throughput'] as { requestsPerS: number }).requestsPerS);
    };
    const batch = async (r: number) => {
      const out = join(dir, `out-${r}`);
      const { json } = await cliJson(root, [
        'batch',
        addr,
        'echo',
        '--input',
        requests,
        '--out',
        out,
        '-c',
        String(s.concurrency),
        '--json',
        '--no-progress',
      ]);
      batchPerS.push(json['itemsPerS'] as number);
      rmSync(out, { recursive: true, force: true });
    };
    // One run each first, unmeasured: the loader's JIT warms on the first.
    await xtest();
    xtestPerS.length = 0;
    for (let r = 0; r < repeat; r++) {
      if (r % 2 === 0) {
        await xtest();
        await batch(r);
      } else {
        await batch(r);
        await xtest();
      }
      progress(
        `  batch run ${r + 1}/${repeat}: xtest ${formatValue(xtestPerS.at(-1) ?? 0)}/s, batch ${formatValue(batchPerS.at(-1) ?? 0)}/s`,
      );
    }

    const many = join(dir, 'many.jsonl');
    writeRequests(many, s.items, 'hello');
    let sampler: ProcSampler | undefined;
    const t0 = performance.now();
    const { json } = await cliJson(
      root,
      ['batch', addr, 'echo', '--input', many, '--out', join(dir, 'many-out'), '-c', String(s.concurrency), '--json', '--no-progress'],
      (pid) => {
        sampler = new ProcSampler(pid, 200);
        return sampler;
      },
    );
    const elapsedMs = performance.now() - t0;
    const { readings } = (sampler as ProcSampler).stop();
    const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
    const peak = (inHalf: (atMs: number) => boolean) => mib(Math.max(0, ...readings.filter((x) => inHalf(x.atMs)).map((x) => x.rssBytes)));
    const memory = {
      items: (json['items'] as { ok: number }).ok,
      elapsedMs: Math.round(elapsedMs),
      firstHalfPeakMiB: peak((at) => at <= elapsedMs / 2),
      secondHalfPeakMiB: peak((at) => at > elapsedMs / 2),
      lastMiB: mib(readings.at(-1)?.rssBytes ?? 0),
    };
    progress(
      `  batch memory: ${memory.items} items in ${memory.elapsedMs} ms, RSS peak ${memory.firstHalfPeakMiB} MiB in the first half, ${memory.secondHalfPeakMiB} MiB in the second`,
    );
    return { xtestPerS, batchPerS, xtestMedian: median(xtestPerS), batchMedian: median(batchPerS), memory };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function batchReport(r: BatchRun, s: BatchSettings, repeat: number): string {
  return [
    `batch: echo ${s.bytes} B over gRPC, ${s.concurrency} in flight, ${s.calls} calls per run, ${repeat} run(s) each, medians`,
    '',
    markdownTable(
      ['tool', 'calls/s (median)', 'runs'],
      [
        ['aiges xtest', formatValue(r.xtestMedian), r.xtestPerS.map(formatValue).join(', ')],
        ['aiges batch', formatValue(r.batchMedian), r.batchPerS.map(formatValue).join(', ')],
      ],
    ),
    `batch/xtest ${(r.batchMedian / r.xtestMedian).toFixed(2)}× (issue 17: ≥ 0.9×)`,
    `memory: ${r.memory.items} items in ${(r.memory.elapsedMs / 1000).toFixed(1)} s; RSS peak ${r.memory.firstHalfPeakMiB} MiB in the first half, ${r.memory.secondHalfPeakMiB} MiB in the second, ${r.memory.lastMiB} MiB at the end`,
  ].join('\n');
}

export function batchSummary(r: BatchRun, s: BatchSettings): SummaryRow[] {
  return [
    {
      section: 'batch',
      case: `echo ${s.bytes} B over gRPC, ${s.concurrency} in flight`,
      metric: 'calls/s',
      higherIsBetter: true,
      ours: r.batchMedian,
      baseline: 'aiges xtest',
      baselineValue: r.xtestMedian,
    },
    {
      section: 'batch',
      case: `${r.memory.items} items`,
      metric: 'RSS peak MiB',
      higherIsBetter: false,
      ours: r.memory.secondHalfPeakMiB,
      baseline: 'first half of the run',
      baselineValue: r.memory.firstHalfPeakMiB,
    },
  ];
}
