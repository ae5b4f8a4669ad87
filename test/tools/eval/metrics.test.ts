/** The pure metrics of `aiges eval` against hand-computed values (loader/tools/eval/). */
import { describe, expect, it } from 'vitest';
import { classification } from '../../../loader/tools/eval/classification.js';
import { regression } from '../../../loader/tools/eval/regression.js';

const pairsOf = <T>(labels: T[], predictions: T[]) => labels.map((label, i) => ({ label, prediction: predictions[i] as T }));

describe('classification', () => {
  // Ten items, three classes; the confusion matrix (rows: label) is
  //   a: 2 1 1   b: 1 2 0   c: 0 1 2
  const m = classification(pairsOf('aaaabbbccc'.split(''), 'aabcbbaccb'.split('')));

  it('counts the confusion matrix by label (rows) and prediction (columns)', () => {
    expect(m.confusion).toEqual({
      labels: ['a', 'b', 'c'],
      matrix: [
        [2, 1, 1],
        [1, 2, 0],
        [0, 1, 2],
      ],
    });
    expect(m).toMatchObject({ count: 10, correct: 6, accuracy: 0.6 });
  });

  it('gives per-class precision, recall, F1 and support', () => {
    const [a, b, c] = m.classes;
    // a: tp 2, predicted 3, support 4 → P 2/3, R 1/2, F1 2PR/(P+R) = 4/7.
    expect(a).toMatchObject({ class: 'a', support: 4, predicted: 3 });
    expect(a?.precision).toBeCloseTo(2 / 3, 12);
    expect(a?.recall).toBeCloseTo(1 / 2, 12);
    expect(a?.f1).toBeCloseTo(4 / 7, 12);
    // b: tp 2, predicted 4, support 3 → P 1/2, R 2/3, F1 4/7.
    expect(b).toMatchObject({ class: 'b', support: 3, predicted: 4 });
    expect(b?.precision).toBeCloseTo(1 / 2, 12);
    expect(b?.f1).toBeCloseTo(4 / 7, 12);
    // c: tp 2, predicted 3, support 3 → P = R = F1 = 2/3.
    expect(c?.f1).toBeCloseTo(2 / 3, 12);
  });

  it('averages over classes (macro) and by support (weighted)', () => {
    expect(m.macro.precision).toBeCloseTo(11 / 18, 12);
    expect(m.macro.recall).toBeCloseTo(11 / 18, 12);
    expect(m.macro.f1).toBeCloseTo(38 / 63, 12);
    // (4·2/3 + 3·1/2 + 3·2/3) / 10
    expect(m.weighted.precision).toBeCloseTo(37 / 60, 12);
    // Weighted recall is accuracy, always.
    expect(m.weighted.recall).toBeCloseTo(0.6, 12);
    expect(m.weighted.f1).toBeCloseTo(0.6, 12);
  });

  it('scores a class that is only ever predicted as 0, and keeps it in the macro average', () => {
    const r = classification(pairsOf(['x', 'x'], ['x', 'y']));
    expect(r.classes).toEqual([
      { class: 'x', precision: 1, recall: 0.5, f1: 2 / 3, support: 2, predicted: 1 },
      { class: 'y', precision: 0, recall: 0, f1: 0, support: 0, predicted: 1 },
    ]);
    expect(r.macro.f1).toBeCloseTo(1 / 3, 12);
    expect(r.weighted.f1).toBeCloseTo(2 / 3, 12);
  });

  it('has nothing to divide by with no pair: zeros, no classes', () => {
    expect(classification([])).toMatchObject({ count: 0, accuracy: 0, classes: [], confusion: { labels: [], matrix: [] } });
  });
});

describe('regression', () => {
  it('gives MAE, MSE, RMSE and R²', () => {
    // errors 0.5, 0, −1, 1; labels' mean 2.5, SS_tot 5, SS_res 2.25.
    const r = regression(pairsOf([1, 2, 3, 4], [1.5, 2, 2, 5]));
    expect(r.count).toBe(4);
    expect(r.mae).toBeCloseTo(0.625, 12);
    expect(r.mse).toBeCloseTo(0.5625, 12);
    expect(r.rmse).toBeCloseTo(0.75, 12);
    expect(r.r2).toBeCloseTo(0.55, 12);
  });

  it('has no R² when every label is the same', () => {
    expect(regression(pairsOf([3, 3], [3, 4])).r2).toBeNull();
    expect(regression(pairsOf([1, 2], [1, 2])).r2).toBe(1);
  });
});
