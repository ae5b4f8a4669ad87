/**
 * Line-oriented data files of `aiges batch` and `aiges eval`, read as streams so that memory does
 * not grow with the file: JSONL (one JSON object per line, blank lines skipped) through readline,
 * CSV (RFC 4180, a header row naming the columns, a UTF-8 BOM dropped) through csv-parse. Each
 * record comes with the line it starts on, for messages.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';

export interface FileRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  value: Record<string, unknown>;
}

/** What went wrong with one record or the file; `line` is 0 for the file as a whole. */
export class RecordError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export type RecordFormat = 'jsonl' | 'csv';

/** `.csv` (any case) is CSV; anything else (`.jsonl`, `.json`, `.ndjson`) JSONL. */
export function formatOf(path: string): RecordFormat {
  return /\.csv$/i.test(path) ? 'csv' : 'jsonl';
}

/** A JSONL line: its object, or why it is none (the lines after it still read). */
export type JsonlLine = FileRecord | { line: number; error: string };

/** Every non-blank line of a JSONL file; a bad line is yielded as such, not thrown. */
export async function* readJsonlLines(path: string): AsyncGenerator<JsonlLine> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield { line, error: `not JSON: ${(err as Error).message}` };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, error: 'not a JSON object' };
    else yield { line, value: value as Record<string, unknown> };
  }
}

/** The records of a JSONL file; a bad line throws a RecordError. */
export async function* readJsonl(path: string): AsyncGenerator<FileRecord> {
  for await (const r of readJsonlLines(path)) {
    if ('error' in r) throw new RecordError(r.line, r.error);
    yield r;
  }
}

export async function* readCsv(path: string): AsyncGenerator<FileRecord> {
  const parser = createReadStream(path).pipe(parse({ columns: true, bom: true, skip_empty_lines: true, info: true }));
  try {
    for await (const row of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield { line: row.info.lines, value: row.record };
    }
  } catch (err) {
    if (err instanceof RecordError) throw err;
    const lines = (err as { lines?: unknown }).lines;
    throw new RecordError(typeof lines === 'number' ? lines : 0, (err as Error).message);
  }
}

export function readRecords(path: string, format = formatOf(path)): AsyncGenerator<FileRecord> {
  return format === 'csv' ? readCsv(path) : readJsonl(path);
}

/** An id as written in a record: a non-empty string, or a number (as its decimal text). */
export function idOf(value: Record<string, unknown>): string | undefined {
  const id = value['id'];
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id === 'string' && id !== '') return id;
  return undefined;
}
