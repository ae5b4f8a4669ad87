/**
 * How `aiges batch` turns an answer into the `prediction` of predictions.jsonl, the field
 * `aiges eval` scores: the output item `--prediction-key` names, else the only (or first) one; its
 * text when it is a text item, else its bytes in base64 (with `"prediction_encoding": "base64"`);
 * with `--prediction-path`, the text parsed as JSON and the value at that dot path taken (`0.class`
 * takes `class` of the first array element), so that a JSON answer yields a plain label.
 */
import { DataType } from '../../../plugins/types.js';
import type { OutputItem } from '../xtest/target.js';
import { invalidBatchOption } from './errors.js';

export interface PredictionRule {
  key: string | undefined;
  /** Dot path segments; empty: the whole output. */
  path: string[];
}

export type Extracted = { ok: true; fields: { prediction: unknown; prediction_encoding?: 'base64' } } | { ok: false; message: string };

export function parsePredictionPath(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  const segments = text.split('.');
  if (segments.some((s) => s === ''))
    throw invalidBatchOption(`--prediction-path expects names and indexes joined by dots, e.g. 0.class, got "${text}"`);
  return segments;
}

export function extractPrediction(outputs: readonly OutputItem[], rule: PredictionRule): Extracted {
  const item = rule.key === undefined ? outputs[0] : outputs.find((o) => o.key === rule.key);
  if (item === undefined) {
    if (rule.key === undefined) return { ok: true, fields: { prediction: null } };
    return { ok: false, message: `the answer has no output "${rule.key}" (it has ${outputs.map((o) => o.key).join(', ') || 'none'})` };
  }
  if (item.type !== DataType.TEXT) {
    if (rule.path.length > 0) return { ok: false, message: `--prediction-path needs a text output; "${item.key}" is not one` };
    return { ok: true, fields: { prediction: item.data.toString('base64'), prediction_encoding: 'base64' } };
  }
  const text = item.data.toString('utf8');
  if (rule.path.length === 0) return { ok: true, fields: { prediction: text } };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: `output "${item.key}" is not JSON, so --prediction-path cannot apply: ${text.slice(0, 80)}` };
  }
  for (const segment of rule.path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) {
      return { ok: false, message: `output "${item.key}" has nothing at ${rule.path.join('.')}: ${text.slice(0, 80)}` };
    }
    value = (value as Record<string, unknown>)[segment];
  }
  return { ok: true, fields: { prediction: value } };
}
