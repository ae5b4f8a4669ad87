/**
 * Input sources: per key, a literal text, a file, or a directory whose files are used in turn
 * (call i takes file i mod n, files in name order), so a run can cycle through a test set. Every
 * file is read once, before the run, so that disk reads never weigh on the measured calls.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataStatus, type DataItem, type DataType } from '../../../plugins/types.js';
import { isToolError, ToolError } from '../errors.js';
import { XtestCodes } from './errors.js';

export interface InputSpec {
  key: string;
  /** `text`: this string's UTF-8 bytes; `path`: a file, or a directory to cycle through. */
  source: { text: string } | { path: string };
  type: DataType;
  encoding: string;
  attributes: Record<string, string>;
}

/** One input item as sent: the SDK's DataItem (no tensor view), the fields of aiges.v1 DataItem. */
export type XItem = DataItem;

export interface InputSet {
  /** The items of call number `i` (0-based), status ONCE; their data are shared, never copy-on-send. */
  itemsFor(i: number): XItem[];
  /** Per key, how many distinct payloads it cycles through. */
  readonly variants: Record<string, number>;
}

function unreadable(message: string, cause?: unknown): ToolError {
  return new ToolError(XtestCodes.INPUT_UNREADABLE, message, { cause });
}

/** The payloads of one source: one for text and files, one per file of a directory. */
function payloadsOf(spec: InputSpec): Buffer[] {
  if ('text' in spec.source) return [Buffer.from(spec.source.text, 'utf8')];
  const path = spec.source.path;
  try {
    if (!statSync(path).isDirectory()) return [readFileSync(path)];
    const files = readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    if (files.length === 0) throw unreadable(`input "${spec.key}": directory ${path} holds no file`);
    return files.map((name) => readFileSync(join(path, name)));
  } catch (err) {
    if (isToolError(err)) throw err;
    throw unreadable(`input "${spec.key}": cannot read ${path}: ${(err as Error).message}`, err);
  }
}

/** Reads every source now; throws XTEST_INPUT_UNREADABLE naming the key and path. */
export function loadInputs(specs: readonly InputSpec[]): InputSet {
  const sources = specs.map((spec) => ({ spec, payloads: payloadsOf(spec) }));
  return {
    variants: Object.fromEntries(sources.map((s) => [s.spec.key, s.payloads.length])),
    itemsFor: (i) =>
      sources.map(({ spec, payloads }) => ({
        key: spec.key,
        type: spec.type,
        status: DataStatus.ONCE,
        encoding: spec.encoding,
        attributes: spec.attributes,
        data: payloads[i % payloads.length] as Buffer,
      })),
  };
}
