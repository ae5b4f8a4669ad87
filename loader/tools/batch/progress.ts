/**
 * Progress of `aiges batch` on stderr: on a terminal a bar (cli-progress) with the rate and the
 * ETA; elsewhere (a pipe, a CI log) a plain line every few seconds, never control characters.
 * The total is counted beside the job (entries of the folder, lines of the file) and shown once
 * known; for a CSV whose cells hold newlines it is an estimate.
 */
import { createReadStream } from 'node:fs';
import { opendir } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { BatchJob } from './runner.js';
import type { InputKind } from './sources.js';

/** How many items the input holds (folder entries, non-empty lines; CSV less its header). */
export async function countItems(path: string, kind: InputKind): Promise<number> {
  let n = 0;
  if (kind === 'folder') {
    for await (const e of await opendir(path)) if (e.isFile() && !e.name.startsWith('.')) n++;
    return n;
  }
  let last = 0x0a;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) n++;
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
  }
  if (last !== 0x0a) n++;
  return kind === 'csv' ? Math.max(0, n - 1) : n;
}

const PLAIN_EVERY_MS = 5000;

/** Starts showing progress; the function returned ends it (once; later calls do nothing). */
export function showProgress(job: BatchJob, total: Promise<number | undefined>, stream: NodeJS.WriteStream): () => void {
  let known: number | undefined;
  void total.then((t) => {
    known = t;
  });
  const rate = () => {
    const p = job.progress();
    const done = p.done - p.skipped;
    return { p, perS: p.elapsedMs > 0 ? (done / p.elapsedMs) * 1000 : 0 };
  };
  if (!stream.isTTY) {
    const timer = setInterval(() => {
      const { p, perS } = rate();
      const left = known === undefined || perS === 0 ? '' : `, ETA ${Math.max(0, Math.round((known - p.done) / perS))} s`;
      stream.write(
        `aiges batch: ${p.done}${known === undefined ? '' : `/${known}`} done (${p.failed} failed), ${perS.toFixed(1)}/s${left}\n`,
      );
    }, PLAIN_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'batch [{bar}] {value}/{total} | {failed} failed | {rate}/s | ETA {eta_formatted}',
      hideCursor: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(0, 0, { failed: 0, rate: '0' });
  const draw = () => {
    const { p, perS } = rate();
    if (known !== undefined) bar.setTotal(known);
    bar.update(p.done, { failed: p.failed, rate: perS.toFixed(1) });
  };
  const timer = setInterval(draw, 200);
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    draw();
    bar.stop();
  };
}
