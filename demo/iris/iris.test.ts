import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, item, type Harness, type HarnessOptions } from '../../plugins/testing.js';
import type { IrisModel } from './model.js';
import { irisData, stratifiedSplit, trainIris, writeModel } from './train.js';
import iris, { TRAIN_COMMAND } from './wrapper.js';

interface Prediction {
  class: string;
  probabilities: Record<string, number>;
}

const start = (options: HarnessOptions) => createHarness(iris, options);

const dir = mkdtempSync(join(tmpdir(), 'aiges-iris-'));
const modelPath = join(dir, 'model.json');
const data = irisData();
let model: IrisModel;
let h: Harness;

beforeAll(async () => {
  model = trainIris();
  writeModel(model, modelPath);
  h = await start({ config: { model: modelPath } });
});

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function predict(features: string): Promise<Prediction[]> {
  const out = await h.infer([item('features', features, { encoding: 'json' })]);
  expect(out.map((i) => [i.key, i.encoding])).toEqual([['prediction', 'json']]);
  return JSON.parse(out[0]!.data.toString()) as Prediction[];
}

describe('iris training', () => {
  it('reaches at least 90% accuracy on the held-out rows', () => {
    expect(model.dataset).toMatchObject({ rows: 150, train: 120, test: 30 });
    expect(model.accuracy.test).toBeGreaterThanOrEqual(0.9);
    expect(model.accuracy.train).toBeGreaterThanOrEqual(0.9);
  });

  it('is deterministic', () => {
    expect(trainIris()).toEqual(model);
  });

  it('splits every class in the same proportion', () => {
    const { train, test } = stratifiedSplit(data.x, data.y);
    for (const k of [0, 1, 2]) {
      expect(train.y.filter((y) => y === k)).toHaveLength(40);
      expect(test.y.filter((y) => y === k)).toHaveLength(10);
    }
  });
});

describe('iris service', () => {
  it('classifies the test rows through the service as training measured', async () => {
    const { test } = stratifiedSplit(data.x, data.y);
    const predictions = await predict(JSON.stringify(test.x));
    expect(predictions).toHaveLength(test.x.length);
    const right = predictions.filter((p, i) => p.class === data.classes[test.y[i]!]).length;
    expect(right / test.x.length).toBe(model.accuracy.test);
    expect(right / test.x.length).toBeGreaterThanOrEqual(0.9);
  });

  it('predicts known rows, given as an array or as named fields', async () => {
    const [row0] = await predict(JSON.stringify(data.x[0]));
    expect(row0!.class).toBe('setosa');
    expect(row0!.probabilities['setosa']).toBeGreaterThan(0.9);
    const [sl, sw, pl, pw] = data.x[100]!;
    const named = { sepal_length: sl, sepal_width: sw, petal_length: pl, petal_width: pw };
    const [row100] = await predict(JSON.stringify(named));
    expect(row100!.class).toBe('virginica');
  });

  it('answers a batch in order, with probabilities summing to 1', async () => {
    const rows = [data.x[0], data.x[50], data.x[149]];
    const predictions = await predict(JSON.stringify(rows));
    expect(predictions.map((p) => p.class)).toEqual(['setosa', 'versicolor', 'virginica']);
    for (const p of predictions) {
      expect(Object.keys(p.probabilities)).toEqual(['setosa', 'versicolor', 'virginica']);
      expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it.each([
    ['not json', /not valid JSON/],
    ['"5.1,3.5,1.4,0.2"', /must be a JSON array/],
    ['[]', /has 0 values, expected 4/],
    ['[5.1,3.5,1.4]', /has 3 values, expected 4/],
    ['[5.1,"3.5",1.4,0.2]', /\[1\] \(sepal_width\) is not a number/],
    ['[5.1,null,1.4,0.2]', /is not a number: null/],
    ['[5.1,1e999,1.4,0.2]', /is not a finite number/],
    ['[[5.1,3.5,1.4,0.2],[1,2]]', /features\[1\] has 2 values/],
    ['{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4}', /lacks field "petal_width"/],
    ['{"sepal_length":5,"sepal_width":3,"petal_length":1,"petal_width":0.2,"colour":1}', /unknown field "colour"/],
  ])('rejects %s with 10106', async (features, message) => {
    await expect(h.infer([item('features', features)])).rejects.toMatchObject({ aigesCode: 10106, message });
  });
});

describe('iris init', () => {
  it('fails with the training command when the model file is missing', async () => {
    const missing = join(dir, 'nope', 'model.json');
    const failure = start({ config: { model: missing } });
    await expect(failure).rejects.toMatchObject({ aigesCode: 10901 });
    await expect(failure).rejects.toThrow(TRAIN_COMMAND);
    await expect(failure).rejects.toThrow(missing);
  });

  it('resolves a relative model path against the wrapper folder', async () => {
    await expect(start({ config: { model: 'no-such-model.json' } })).rejects.toThrow(/demo\/iris\/no-such-model\.json/);
  });

  it('names the problem in a corrupt model file', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...model, weights: [[1, 2]] }));
    await expect(start({ config: { model: bad } })).rejects.toThrow(/weights must be 3 rows of 4 numbers/);
  });
});
