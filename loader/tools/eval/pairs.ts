/**
 * Joins predictions to labels by id: both files read as streams (loader/tools/records.ts), the
 * labels kept in a map, each prediction matched as it is read. Pairs come in the order of the
 * predictions file. Ids on one side only are counted and the first few named; an id given twice
 * on one side is an error (which answer would count?).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { ToolError } from '../errors.js';
import { type FileRecord, idOf, readRecords, RecordError } from '../records.js';
import { EvalCodes } from './errors.js';

/** How many of the missing ids a report names. */
export const MISSING_SHOWN = 10;

export interface MissingIds {
  count: number;
  /** The first MISSING_SHOWN of them, in file order. */
  ids: string[];
}

/** Turns a field's value into what the task scores; throws an Error naming what is wrong. */
export type Convert<T> = (value: unknown, field: 'label' | 'prediction') => T;

export interface Joined<T> {
  pairs: { id: string; label: T; prediction: T }[];
  /** Labelled ids that have no prediction (an item that failed in aiges batch, say). */
  noPrediction: MissingIds;
  /** Predicted ids that have no label. */
  noLabel: MissingIds;
}

function readable(path: string, flag: string): void {
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) throw new Error('not a file');
  } catch (err) {
    throw new ToolError(EvalCodes.FILE_UNREADABLE, `${flag} ${path}: cannot read it (${(err as Error).message})`);
  }
}

/** Each record's id and the named field, with file:line in every error. */
async function* fieldOf<T>(path: string, field: 'label' | 'prediction', convert: Convert<T>): AsyncGenerator<{ id: string; value: T }> {
  const seen = new Set<string>();
  const records = readRecords(path);
  for (;;) {
    let next: IteratorResult<FileRecord>;
    try {
      next = await records.next();
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      throw new ToolError(EvalCodes.BAD_RECORD, `${path}${err.line > 0 ? `:${err.line}` : ''}: ${err.message}`);
    }
    if (next.done === true) return;
    const { line, value } = next.value;
    const at = `${path}:${line}`;
    const id = idOf(value);
    if (id === undefined) throw new ToolError(EvalCodes.BAD_RECORD, `${at}: no "id" (a non-empty string or a number)`);
    if (!(field in value)) throw new ToolError(EvalCodes.BAD_RECORD, `${at}: no "${field}"`);
    if (seen.has(id)) throw new ToolError(EvalCodes.BAD_RECORD, `${at}: id "${id}" is given twice`);
    seen.add(id);
    let converted: T;
    try {
      converted = convert(value[field], field);
    } catch (err) {
      throw new ToolError(EvalCodes.BAD_RECORD, `${at}: ${(err as Error).message}`);
    }
    yield { id, value: converted };
  }
}

function missing(): MissingIds {
  return { count: 0, ids: [] };
}

function note(m: MissingIds, id: string): void {
  m.count++;
  if (m.ids.length < MISSING_SHOWN) m.ids.push(id);
}

export async function join<T>(predPath: string, labelsPath: string, convert: Convert<T>): Promise<Joined<T>> {
  readable(predPath, '--pred');
  readable(labelsPath, '--labels');
  const labels = new Map<string, T>();
  const labelOrder: string[] = [];
  for await (const r of fieldOf(labelsPath, 'label', convert)) {
    labels.set(r.id, r.value);
    labelOrder.push(r.id);
  }
  const joined: Joined<T> = { pairs: [], noPrediction: missing(), noLabel: missing() };
  const predicted = new Set<string>();
  for await (const r of fieldOf(predPath, 'prediction', convert)) {
    predicted.add(r.id);
    if (!labels.has(r.id)) {
      note(joined.noLabel, r.id);
      continue;
    }
    joined.pairs.push({ id: r.id, label: labels.get(r.id) as T, prediction: r.value });
  }
  for (const id of labelOrder) if (!predicted.has(id)) note(joined.noPrediction, id);
  return joined;
}
