/**
 * The `--out` folder of `aiges batch`, written so that a job can stop at any moment and resume:
 *
 * - `predictions.jsonl`: one line per item done. The lines of the items done in one turn of the
 *   event loop are appended with one write at the end of that turn (setImmediate), not one write
 *   each: a write per item was a syscall per item on batch's hot path. It is the job's record of
 *   what is done: a rerun reads the ids in it and skips them. A kill loses at most the lines of
 *   that turn (their items are done again) and can cut only the write under way; the rerun drops
 *   that unfinished tail first.
 * - `errors.jsonl`: the items that failed in this run, with their codes (started afresh by each
 *   run: failed items are not done, so a rerun tries them again).
 * - `outputs/<key>/<id>` (with --output-files): each output item, written to a temporary name and
 *   renamed before the item's line is appended, so a listed item's files are whole.
 * - `summary.json`: the summary of the last run.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ToolError } from '../errors.js';
import { idOf } from '../records.js';
import type { OutputItem } from '../xtest/target.js';
import { BatchCodes } from './errors.js';

export const PREDICTIONS = 'predictions.jsonl';
export const ERRORS = 'errors.jsonl';
export const SUMMARY = 'summary.json';
export const OUTPUTS = 'outputs';

/** The length of the file up to its last newline (a cut line after it is dropped); reads from the end. */
function wholeLength(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    for (let end = fstatSync(fd).size; end > 0; ) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const at = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (at >= 0) return start + at + 1;
      end = start;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}

/** The ids of predictions.jsonl, after cutting an unfinished last line off. */
async function doneIds(path: string): Promise<Set<string>> {
  const done = new Set<string>();
  if (!existsSync(path)) return done;
  const whole = wholeLength(path);
  if (whole < statSync(path).size) truncateSync(path, whole);
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    try {
      const id = idOf(JSON.parse(line) as Record<string, unknown>);
      if (id !== undefined) done.add(id);
    } catch {
      // Not a line this tool wrote whole: ignored, its item is done again.
    }
  }
  return done;
}

/** An output file name from an id or key: path separators and leading dots made harmless. */
export const safeName = (name: string) => name.replace(/[/\\\0]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));

export class OutDir {
  readonly #predictions: number;
  readonly #errors: number;
  /** Lines of predictions.jsonl not written yet, and the flush that will write them. */
  #pending = '';
  #flushing: NodeJS.Immediate | undefined;

  private constructor(
    readonly dir: string,
    /** Ids done by earlier runs (read at open). */
    readonly done: ReadonlySet<string>,
  ) {
    this.#predictions = openSync(join(dir, PREDICTIONS), 'a');
    this.#errors = openSync(join(dir, ERRORS), 'w');
  }

  static async open(dir: string): Promise<OutDir> {
    try {
      mkdirSync(dir, { recursive: true });
      const done = await doneIds(join(dir, PREDICTIONS));
      return new OutDir(dir, done);
    } catch (err) {
      throw new ToolError(BatchCodes.OUT_UNWRITABLE, `--out ${dir}: ${(err as Error).message}`);
    }
  }

  /** Appends one item's line (with the other lines of this turn): the item is done once it is written. */
  prediction(record: Record<string, unknown>): void {
    this.#pending += `${JSON.stringify(record)}\n`;
    this.#flushing ??= setImmediate(() => this.flush());
  }

  /** Writes the lines not written yet, now (at the end of a turn, at close, before an exit). */
  flush(): void {
    if (this.#flushing !== undefined) clearImmediate(this.#flushing);
    this.#flushing = undefined;
    if (this.#pending === '') return;
    const lines = this.#pending;
    this.#pending = '';
    writeSync(this.#predictions, lines);
  }

  error(record: { id: string; code: string; message: string; attempts: number }): void {
    writeSync(this.#errors, `${JSON.stringify(record)}\n`);
  }

  /** Writes each output item to outputs/<key>/<id>; returns the paths, relative to the folder. */
  outputFiles(id: string, outputs: readonly OutputItem[]): string[] {
    return outputs.map((o) => {
      const rel = join(OUTPUTS, safeName(o.key), safeName(id));
      const abs = join(this.dir, rel);
      mkdirSync(join(this.dir, OUTPUTS, safeName(o.key)), { recursive: true });
      writeFileSync(`${abs}.part`, o.data);
      renameSync(`${abs}.part`, abs);
      return rel;
    });
  }

  summary(summary: object): void {
    writeFileSync(join(this.dir, SUMMARY), `${JSON.stringify(summary, null, 2)}\n`);
  }

  close(): void {
    this.flush();
    closeSync(this.#predictions);
    closeSync(this.#errors);
  }
}
