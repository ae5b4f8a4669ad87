/**
 * Input sources of `aiges call` and `aiges xtest`: per key, a literal text, a file, or (where the
 * tool allows it) a directory whose files are used in turn (call i takes file i mod n, files in
 * name order), so a load test can cycle through a test set. Every file is read once, up front, so
 * that disk reads never weigh on the calls.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataStatus, type DataItem, type DataType } from '../../plugins/types.js';
import { isToolError, ToolError } from './errors.js';

export interface InputSpec {
  key: string;
  /** `text`: this string's UTF-8 bytes; `path`: a file, or a directory to cycle through. */
  source: { text: string } | { path: string };
  type: DataType;
  /** False when no type was given (`--file key=path`): the service's declared type may replace it (applyDeclaredTypes). */
  typed?: boolean;
  encoding: string;
  attributes: Record<string, string>;
}

/** One input item as sent: the SDK's DataItem (no tensor view), the fields of aiges.v1 DataItem. */
export type InputItem = DataItem;

/** What a tool makes of its input flags and sources: the same rules, its own error codes. */
export interface InputRules {
  /** True: a directory is cycled through (xtest); false: refused, one payload per key (call). */
  directories: boolean;
  /** The ToolError code of a malformed input flag. */
  invalid: string;
  /** The ToolError code of a source that cannot be read (or a directory where none is allowed). */
  unreadable: string;
}

export interface InputSet {
  /** The items of call number `i` (0-based), status ONCE; their data are shared, never copy-on-send. */
  itemsFor(i: number): InputItem[];
  /** Per key, how many distinct payloads it cycles through. */
  readonly variants: Record<string, number>;
}

/** The payloads of one source: one for text and files, one per file of a directory. */
function payloadsOf(spec: InputSpec, rules: InputRules): Buffer[] {
  if ('text' in spec.source) return [Buffer.from(spec.source.text, 'utf8')];
  const path = spec.source.path;
  const unreadable = (message: string, cause?: unknown) => new ToolError(rules.unreadable, `input "${spec.key}": ${message}`, { cause });
  try {
    if (!statSync(path).isDirectory()) return [readFileSync(path)];
    if (!rules.directories) throw unreadable(`${path} is a directory: give a file (aiges xtest can cycle through a directory)`);
    const files = readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    if (files.length === 0) throw unreadable(`directory ${path} holds no file`);
    return files.map((name) => readFileSync(join(path, name)));
  } catch (err) {
    if (isToolError(err)) throw err;
    throw unreadable(`cannot read ${path}: ${(err as Error).message}`, err);
  }
}

/** Reads every source now; throws a ToolError (`rules.unreadable`) naming the key and path. */
export function loadInputs(specs: readonly InputSpec[], rules: InputRules): InputSet {
  const sources = specs.map((spec) => ({ spec, payloads: payloadsOf(spec, rules) }));
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
