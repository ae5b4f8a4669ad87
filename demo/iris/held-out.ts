/**
 * Writes the iris demo's held-out split (the 30 test rows train.ts never trains on) as inputs for
 * `aiges batch` and labels for `aiges eval`: `npx tsx demo/iris/held-out.ts <dir>` writes
 *
 * - `<dir>/held-out.csv`: columns `id` and `features` (the four measurements as a JSON array, the
 *   service's input), one row per sample;
 * - `<dir>/held-out.jsonl`: the same requests as AIGes JSON lines (`{"id", "payload"}`);
 * - `<dir>/labels.csv`: columns `id` and `label` (the class name).
 *
 * Ids are `iris-<row>`, the sample's row in the data set. docs/batch.md runs it end to end.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { irisData } from './train.js';

export interface HeldOut {
  /** The held-out rows: id, measurements, class name. */
  rows: { id: string; features: number[]; label: string }[];
}

/** The rows stratifiedSplit holds out (every 5th of each class), with their dataset row as id. */
export function heldOut(testEvery = 5): HeldOut {
  const { x, y, classes } = irisData();
  const seen = new Map<number, number>();
  const rows: HeldOut['rows'] = [];
  x.forEach((features, i) => {
    const label = y[i] as number;
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    if (n % testEvery === 0) rows.push({ id: `iris-${i}`, features, label: classes[label] as string });
  });
  return { rows };
}

export function writeHeldOut(dir: string, { rows }: HeldOut = heldOut()): void {
  mkdirSync(dir, { recursive: true });
  const csv = rows.map((r) => `${r.id},"${JSON.stringify(r.features)}"`);
  writeFileSync(join(dir, 'held-out.csv'), `id,features\n${csv.join('\n')}\n`);
  const jsonl = rows.map((r) =>
    JSON.stringify({
      id: r.id,
      payload: { features: { encoding: 'json', status: 3, text: Buffer.from(JSON.stringify(r.features)).toString('base64') } },
    }),
  );
  writeFileSync(join(dir, 'held-out.jsonl'), `${jsonl.join('\n')}\n`);
  writeFileSync(join(dir, 'labels.csv'), `id,label\n${rows.map((r) => `${r.id},${r.label}`).join('\n')}\n`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const dir = resolve(process.argv[2] ?? 'iris-eval');
  const data = heldOut();
  writeHeldOut(dir, data);
  console.log(`wrote ${data.rows.length} held-out rows to ${dir}: held-out.csv, held-out.jsonl, labels.csv`);
}
