/**
 * Where `aiges batch` reads its requests, one at a time and only as fast as the job takes them,
 * so that memory does not grow with the input:
 *
 * - a folder: one request per file (dotfiles and subfolders left out), read when its turn comes;
 *   the file is the input item `key`, its id is the file name. Entries come in directory order
 *   (fs.opendir), never sorted: sorting would hold every name at once.
 * - a JSONL file: one request per line, parsed as the loader parses it: an AIGes JSON request
 *   (`{"id", "header", "parameter", "payload"}`, the body of `POST /v1/private/<service>`,
 *   docs/http.md), or, a line whose `inputs` is a list, a V2 inference request (`{"id", "inputs",
 *   "parameters", "outputs"}`, the body of `POST /v2/models/<m>/infer`, docs/v2.md). Told apart
 *   per line: an AIGes request has no `inputs`.
 * - a CSV file: a header row; column `id`, columns `param:<name>` as params, every other column
 *   a text item of that key (typed as the service declares the key).
 *
 * A request that cannot be made (a line that is no request, a file that cannot be read) is
 * yielded as a failure of its own, so that it goes to errors.jsonl and the job goes on; only an
 * input that cannot be read at all stops the job before it starts.
 */
import { opendir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Codes } from '../../errors.js';
import { parseRequest } from '../../server/http-convert.js';
import { parseInferRequest, type V2InferRequest } from '../../server/http-v2-convert.js';
import { DataStatus, DataType } from '../../../plugins/types.js';
import { ToolError } from '../errors.js';
import type { InputItem } from '../inputs.js';
import { type FileRecord, idOf, readCsv, readJsonlLines, RecordError } from '../records.js';
import { BatchCodes } from './errors.js';

/** A request of AIGes items (folder, CSV, AIGes JSON line), or a V2 inference request (V2 JSON line). */
export type BatchRequest = ItemsRequest | V2Request;

export interface ItemsRequest {
  id: string;
  params: Record<string, string>;
  items: InputItem[];
  v2?: undefined;
}

export interface V2Request {
  id: string;
  /** Its `id` is the line's (as a string); --param values are among its parameters, under its own. */
  v2: V2InferRequest;
}

/** A line or file that is no request: recorded as a failure with this code. */
export interface BadInput {
  id: string;
  code: string;
  message: string;
}

export type SourceEntry = { request: BatchRequest } | { bad: BadInput };

export type InputKind = 'folder' | 'jsonl' | 'csv';

/** What the source needs of the service's schema: the declared type of each input key. */
export interface SourceSchema {
  inputs: ReadonlyMap<string, DataType>;
}

export interface SourceOptions {
  service: string;
  /** Folder: the input key each file goes in as. */
  key: string | undefined;
  /** Params every request carries (--param), under a request's own. */
  params: Record<string, string>;
  schema: SourceSchema | undefined;
}

/** The code of a line or file that cannot become a request (no aiges-code applies: it was never sent). */
export const BAD_INPUT = 'input';

export async function inputKind(path: string): Promise<InputKind> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new ToolError(BatchCodes.INPUT_UNREADABLE, `--input ${path}: ${(err as Error).message}`);
  }
  if (isDir) return 'folder';
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(jsonl|ndjson|json)$/i.test(path)) return 'jsonl';
  throw new ToolError(BatchCodes.INPUT_UNREADABLE, `--input ${path}: give a folder, a .jsonl file or a .csv file`);
}

/** The folder's key: --key, else the service's only input key. */
export function folderKey(options: SourceOptions): string {
  if (options.key !== undefined) return options.key;
  const keys = [...(options.schema?.inputs.keys() ?? [])];
  if (keys.length === 1) return keys[0] as string;
  throw new ToolError(
    BatchCodes.INVALID_OPTION,
    options.schema === undefined
      ? 'a folder input needs --key <input key>: the service schema could not be read'
      : `a folder input needs --key: service ${options.service} has inputs ${keys.join(', ') || '(none)'}`,
  );
}

async function* folder(path: string, options: SourceOptions): AsyncGenerator<SourceEntry> {
  const key = folderKey(options);
  const type = options.schema?.inputs.get(key) ?? DataType.OTHER;
  for await (const entry of await opendir(path)) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const id = entry.name;
    try {
      const data = await readFile(join(path, entry.name));
      yield {
        request: { id, params: { ...options.params }, items: [{ key, type, status: DataStatus.ONCE, encoding: '', attributes: {}, data }] },
      };
    } catch (err) {
      yield { bad: { id, code: BAD_INPUT, message: `cannot read ${entry.name}: ${(err as Error).message}` } };
    }
  }
}

/** Each line of a JSONL file; a line that is no JSON object fails alone. */
async function* jsonl(path: string, options: SourceOptions): AsyncGenerator<SourceEntry> {
  const name = basename(path);
  try {
    for await (const r of readJsonlLines(path)) {
      if ('error' in r) yield { bad: { id: `${name}:${r.line}`, code: BAD_INPUT, message: `line ${r.line}: ${r.error}` } };
      else yield jsonlEntry(r, options, name);
    }
  } catch (err) {
    throw new ToolError(BatchCodes.INPUT_UNREADABLE, `--input ${path}: ${(err as Error).message}`);
  }
}

/** Each row of a CSV file; a CSV that breaks (a stray quote) cannot be resynchronised, so it stops the job. */
async function* csv(path: string, options: SourceOptions): AsyncGenerator<SourceEntry> {
  const name = basename(path);
  try {
    for await (const r of readCsv(path)) yield csvEntry(r, options, name);
  } catch (err) {
    const where = err instanceof RecordError && err.line > 0 ? `:${err.line}` : '';
    throw new ToolError(BatchCodes.INPUT_UNREADABLE, `--input ${path}${where}: ${(err as Error).message}`);
  }
}

function jsonlEntry(r: FileRecord, options: SourceOptions, name: string): SourceEntry {
  const id = idOf(r.value);
  if (id === undefined)
    return { bad: { id: `${name}:${r.line}`, code: BAD_INPUT, message: `line ${r.line}: no "id" (a non-empty string or a number)` } };
  try {
    const { id: _id, ...body } = r.value;
    if (Array.isArray(body['inputs'])) {
      // NOTE: a line holds JSON only, so the asks for binary outputs are dropped: every target then
      // answers in JSON what JSON can carry (target-v2.ts).
      const v2 = parseInferRequest({ ...body, id }, undefined);
      const { binary_data_output: _, ...parameters } = v2.parameters;
      return {
        request: {
          id,
          v2: {
            ...v2,
            parameters: { ...options.params, ...parameters },
            outputs: v2.outputs?.map((o) => ({ name: o.name, binary: undefined })),
          },
        },
      };
    }
    const parsed = parseRequest(body, options.service);
    return { request: { id, params: { ...options.params, ...parsed.params }, items: parsed.items } };
  } catch (err) {
    return {
      bad: {
        id,
        code: String((err as { aigesCode?: unknown }).aigesCode ?? Codes.INVALID_DATA),
        message: `line ${r.line}: ${(err as Error).message}`,
      },
    };
  }
}

function csvEntry(r: FileRecord, options: SourceOptions, name: string): SourceEntry {
  const id = idOf(r.value);
  if (id === undefined) return { bad: { id: `${name}:${r.line}`, code: BAD_INPUT, message: `line ${r.line}: no id in column "id"` } };
  const params = { ...options.params };
  const items: InputItem[] = [];
  for (const [column, value] of Object.entries(r.value as Record<string, string>)) {
    if (column === 'id') continue;
    if (column.startsWith('param:')) params[column.slice('param:'.length)] = value;
    else {
      const type = options.schema?.inputs.get(column) ?? DataType.TEXT;
      items.push({ key: column, type, status: DataStatus.ONCE, encoding: '', attributes: {}, data: Buffer.from(value, 'utf8') });
    }
  }
  return { request: { id, params, items } };
}

export async function* readSource(path: string, kind: InputKind, options: SourceOptions): AsyncGenerator<SourceEntry> {
  if (kind === 'folder') yield* folder(path, options);
  else if (kind === 'jsonl') yield* jsonl(path, options);
  else yield* csv(path, options);
}
