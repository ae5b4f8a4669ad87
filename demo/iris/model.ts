/**
 * The iris classifier's model: a multinomial logistic regression (softmax) over standardised
 * features. `train.ts` makes it, the wrapper loads it; this file is the format both agree on.
 */
import { readFileSync } from 'node:fs';

export const MODEL_FORMAT = 'aiges-iris-softmax/1';
export const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;

export interface IrisModel {
  format: typeof MODEL_FORMAT;
  /** Feature names, in input order (FEATURES). */
  features: string[];
  /** Class names; output k of the model is classes[k]. */
  classes: string[];
  /** Per-feature mean and standard deviation of the training set (z = (x - mean) / std). */
  mean: number[];
  std: number[];
  /** weights[k][j]: class k, standardised feature j. */
  weights: number[][];
  biases: number[];
  accuracy: { train: number; test: number };
  training: Record<string, unknown>;
  dataset: Record<string, unknown>;
}

/** Class probabilities for one raw (unstandardised) sample; they sum to 1. */
export function probabilities(model: IrisModel, x: readonly number[]): number[] {
  const z = x.map((v, j) => (v - model.mean[j]!) / model.std[j]!);
  return softmax(model.weights.map((w, k) => model.biases[k]! + w.reduce((sum, wj, j) => sum + wj * z[j]!, 0)));
}

/** Numerically stable softmax. */
export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** Index of the most probable class. */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k]! > values[best]!) best = k;
  return best;
}

/** Reads and checks a model file; throws an Error naming the first problem found. */
export function loadModel(path: string): IrisModel {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read iris model ${path}: ${(err as Error).message}`);
  }
  const problem = modelProblem(json);
  if (problem !== undefined) throw new Error(`iris model ${path} is invalid: ${problem}`);
  return json as IrisModel;
}

/** What is wrong with a parsed model file, or undefined when it is a usable model. */
function modelProblem(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null) return 'not a JSON object';
  const model = m as Partial<IrisModel>;
  if (model.format !== MODEL_FORMAT) return `format must be "${MODEL_FORMAT}", got ${JSON.stringify(model.format)}`;
  const nFeatures = FEATURES.length;
  const classes = model.classes;
  if (!Array.isArray(classes) || classes.length < 2 || !classes.every((c) => typeof c === 'string')) {
    return 'classes must be an array of at least two names';
  }
  const finite = (v: unknown, n: number) => Array.isArray(v) && v.length === n && v.every((x) => Number.isFinite(x));
  if (!finite(model.mean, nFeatures)) return `mean must hold ${nFeatures} numbers`;
  if (!finite(model.std, nFeatures) || model.std!.some((s) => s <= 0)) {
    return `std must hold ${nFeatures} positive numbers`;
  }
  if (!finite(model.biases, classes.length)) return `biases must hold ${classes.length} numbers`;
  const w = model.weights;
  if (!Array.isArray(w) || w.length !== classes.length || !w.every((row) => finite(row, nFeatures))) {
    return `weights must be ${classes.length} rows of ${nFeatures} numbers`;
  }
  return undefined;
}
