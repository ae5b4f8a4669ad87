/**
 * Regression metrics over (label, prediction) pairs of numbers: mean absolute error, mean squared
 * error and its root, and the coefficient of determination R² = 1 − SS_res / SS_tot.
 *
 * NOTE: R² is null when every label is the same (SS_tot = 0): it is undefined there, and a made-up
 * 0 or 1 would pass or fail a threshold for no reason.
 */
import type { Pair } from './classification.js';

export interface RegressionMetrics {
  count: number;
  mae: number;
  mse: number;
  rmse: number;
  r2: number | null;
}

export function regression(pairs: readonly Pair<number>[]): RegressionMetrics {
  const n = pairs.length;
  if (n === 0) return { count: 0, mae: 0, mse: 0, rmse: 0, r2: null };
  let abs = 0;
  let sq = 0;
  let sum = 0;
  for (const { label, prediction } of pairs) {
    abs += Math.abs(prediction - label);
    sq += (prediction - label) ** 2;
    sum += label;
  }
  const mean = sum / n;
  const ssTot = pairs.reduce((s, p) => s + (p.label - mean) ** 2, 0);
  const mse = sq / n;
  return { count: n, mae: abs / n, mse, rmse: Math.sqrt(mse), r2: ssTot === 0 ? null : 1 - sq / ssTot };
}
