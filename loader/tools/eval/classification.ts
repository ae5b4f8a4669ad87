/**
 * Classification metrics over (label, prediction) pairs of class names: accuracy, per-class
 * precision / recall / F1 with support, their macro and support-weighted averages, and the
 * confusion matrix. The classes are every name seen on either side, sorted.
 *
 * NOTE: a ratio whose denominator is 0 (a class never predicted has no precision) counts as 0, as
 * scikit-learn's `zero_division=0` does, so that the averages stay defined; the per-class counts
 * beside it show why.
 */

export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** How many labels are this class. */
  support: number;
  /** How many predictions are this class. */
  predicted: number;
}

export interface Averages {
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassificationMetrics {
  count: number;
  correct: number;
  accuracy: number;
  classes: ClassMetrics[];
  macro: Averages;
  weighted: Averages;
  /** `matrix[i][j]`: how many items of true class `labels[i]` were predicted `labels[j]`. */
  confusion: { labels: string[]; matrix: number[][] };
}

export interface Pair<L, P = L> {
  label: L;
  prediction: P;
}

const ratio = (num: number, den: number) => (den === 0 ? 0 : num / den);

export function classification(pairs: readonly Pair<string>[]): ClassificationMetrics {
  const labels = [...new Set(pairs.flatMap((p) => [p.label, p.prediction]))].sort();
  const index = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => labels.map(() => 0));
  for (const { label, prediction } of pairs) (matrix[index.get(label) as number] as number[])[index.get(prediction) as number]! += 1;
  const classes = labels.map((name, i): ClassMetrics => {
    const tp = matrix[i]![i]!;
    const support = matrix[i]!.reduce((s, v) => s + v, 0);
    const predicted = matrix.reduce((s, row) => s + row[i]!, 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { class: name, precision, recall, f1: ratio(2 * precision * recall, precision + recall), support, predicted };
  });
  const correct = labels.reduce((s, _, i) => s + matrix[i]![i]!, 0);
  const mean = (f: (c: ClassMetrics) => number, weight: (c: ClassMetrics) => number) => {
    const total = classes.reduce((s, c) => s + weight(c), 0);
    return ratio(
      classes.reduce((s, c) => s + f(c) * weight(c), 0),
      total,
    );
  };
  const averages = (weight: (c: ClassMetrics) => number): Averages => ({
    precision: mean((c) => c.precision, weight),
    recall: mean((c) => c.recall, weight),
    f1: mean((c) => c.f1, weight),
  });
  return {
    count: pairs.length,
    correct,
    accuracy: ratio(correct, pairs.length),
    classes,
    macro: averages(() => 1),
    weighted: averages((c) => c.support),
    confusion: { labels, matrix },
  };
}
