/**
 * Parses the iris service's `features` input: one sample as `[5.1, 3.5, 1.4, 0.2]` or
 * `{"sepal_length": 5.1, …}`, or a batch as an array of those.
 */
import { pluginError } from 'aiges-ts';
import { FEATURES } from './model.js';

/** The most samples one request may carry. */
export const MAX_BATCH = 10_000;

const SHAPES = `a JSON array of ${FEATURES.length} numbers, an object {${FEATURES.join(', ')}}, or an array of those`;

/**
 * Returns the samples in input order (one for a single sample), each as FEATURES.length finite
 * numbers; an array holding any array or object is a batch. Throws a 10106 error naming the
 * problem: bad JSON, wrong count, a non-number, a non-finite number, unknown or missing fields.
 */
export function parseFeatures(text: string): number[][] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`features is not valid JSON (${(err as Error).message}); expected ${SHAPES}`);
  }
  const batch = Array.isArray(value) && value.some((v) => typeof v === 'object' && v !== null);
  if (!batch) return [sample(value, 'features')];
  const rows = value as unknown[];
  if (rows.length > MAX_BATCH) throw invalid(`features holds ${rows.length} samples, at most ${MAX_BATCH} allowed`);
  return rows.map((row, i) => sample(row, `features[${i}]`));
}

function sample(value: unknown, where: string): number[] {
  if (Array.isArray(value)) {
    if (value.length !== FEATURES.length) {
      throw invalid(`${where} has ${value.length} values, expected ${FEATURES.length} (${FEATURES.join(', ')})`);
    }
    return value.map((v, j) => number(v, `${where}[${j}] (${FEATURES[j]})`));
  }
  if (typeof value === 'object' && value !== null) {
    const fields = value as Record<string, unknown>;
    const unknown = Object.keys(fields).find((k) => !(FEATURES as readonly string[]).includes(k));
    if (unknown !== undefined) {
      throw invalid(`${where} has unknown field "${unknown}"; fields are ${FEATURES.join(', ')}`);
    }
    return FEATURES.map((name) => {
      if (!(name in fields)) throw invalid(`${where} lacks field "${name}"`);
      return number(fields[name], `${where}.${name}`);
    });
  }
  throw invalid(`${where} must be ${SHAPES}`);
}

function number(v: unknown, where: string): number {
  if (typeof v !== 'number') throw invalid(`${where} is not a number: ${JSON.stringify(v)}`);
  // JSON has no NaN, but 1e999 parses to Infinity.
  if (!Number.isFinite(v)) throw invalid(`${where} is not a finite number`);
  return v;
}

const invalid = (message: string) => pluginError('invalid-param', message);
