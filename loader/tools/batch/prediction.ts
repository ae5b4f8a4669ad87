/**
 * How `aiges batch` turns an answer into the `prediction` of predictions.jsonl, the field
 * `aiges eval` scores: the output item `--prediction-key` names, else the only (or first) one; its
 * text when it is a text item, else its bytes in base64 (with `"prediction_encoding": "base64"`);
 * with `--prediction-path`, the text parsed as JSON and the value at that dot path taken (`0.class`
 * takes `class` of the first array element), so that a JSON answer yields a plain label.
 *
 * A V2 answer (target-v2.ts) is JSON already: the path is taken in it as it is, from its top
 * (`outputs.0.data.0`); in a list, a segment that is not an index picks the element whose `name`
 * it is (`outputs.label.data.0`). Without a path, the prediction is the `data` of the output
 * `--prediction-key` names (else the only, or first, one), its one element when it holds one.
 */
import { DataType } from '../../../plugins/types.js';
import type { OutputItem } from '../xtest/target.js';
import { invalidBatchOption } from './errors.js';
import type { V2Answer, V2JsonTensor } from './target-v2.js';

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
  const found = at(value, rule.path);
  if (!found.ok) return { ok: false, message: `output "${item.key}" has nothing at ${rule.path.join('.')}: ${text.slice(0, 80)}` };
  return { ok: true, fields: { prediction: found.value } };
}

/** The value at a path: object fields by name, list elements by index or by their `name`. */
function at(root: unknown, path: readonly string[]): { ok: true; value: unknown } | { ok: false } {
  let value = root;
  for (const segment of path) {
    if (Array.isArray(value) && !/^\d+$/.test(segment)) {
      value = value.find((e: unknown) => typeof e === 'object' && e !== null && (e as { name?: unknown }).name === segment);
      if (value === undefined) return { ok: false };
    } else if (typeof value === 'object' && value !== null && Object.hasOwn(value, segment)) {
      value = (value as Record<string, unknown>)[segment];
    } else return { ok: false };
  }
  return { ok: true, value };
}

export type ExtractedV2 = { ok: true; fields: { prediction: unknown; outputs: V2JsonTensor[] } } | { ok: false; message: string };

export function extractV2Prediction(answer: V2Answer, rule: PredictionRule): ExtractedV2 {
  const { outputs } = answer;
  if (rule.path.length > 0) {
    const found = at(answer, rule.path);
    if (!found.ok) return { ok: false, message: `the answer has nothing at ${rule.path.join('.')} (outputs ${names(outputs)})` };
    return { ok: true, fields: { prediction: found.value, outputs } };
  }
  const tensor = rule.key === undefined ? outputs[0] : outputs.find((o) => o.name === rule.key);
  if (tensor === undefined) {
    if (rule.key === undefined) return { ok: true, fields: { prediction: null, outputs } };
    return { ok: false, message: `the answer has no output "${rule.key}" (it has ${names(outputs)})` };
  }
  const { data } = tensor;
  return { ok: true, fields: { prediction: Array.isArray(data) && data.length === 1 ? data[0] : data, outputs } };
}

const names = (outputs: readonly V2JsonTensor[]) => outputs.map((o) => o.name).join(', ') || 'none';
