/**
 * `--threshold` of `aiges eval`: `metric=value` holds the metric to its good side (at least the
 * value for a score such as accuracy, at most for an error such as wer), `metric>=value`,
 * `metric<=value`, `metric>value` and `metric<value` say the side themselves. A metric the task
 * does not have is an option error; a metric that is undefined on the data (R² of constant labels)
 * fails its threshold.
 */
import type { EvalTask, TaskMetrics } from './report.js';
import { invalidEvalOption } from './errors.js';

export type Op = '>=' | '<=' | '>' | '<';

export interface Threshold {
  metric: string;
  op: Op;
  value: number;
  /** As written, for messages. */
  text: string;
}

export interface ThresholdResult extends Threshold {
  actual: number | null;
  passed: boolean;
}

interface MetricDef {
  /** True: higher is better (`metric=v` means >=). */
  higher: boolean;
  get(m: TaskMetrics): number | null;
}

const classification = (m: TaskMetrics) => (m.task === 'classification' ? m : undefined);
const regression = (m: TaskMetrics) => (m.task === 'regression' ? m : undefined);
const asr = (m: TaskMetrics) => (m.task === 'asr' ? m : undefined);

/** The metrics a threshold may name, per task. */
export const METRICS: Record<EvalTask, Record<string, MetricDef>> = {
  classification: {
    accuracy: { higher: true, get: (m) => classification(m)?.accuracy ?? null },
    macro_precision: { higher: true, get: (m) => classification(m)?.macro.precision ?? null },
    macro_recall: { higher: true, get: (m) => classification(m)?.macro.recall ?? null },
    macro_f1: { higher: true, get: (m) => classification(m)?.macro.f1 ?? null },
    weighted_precision: { higher: true, get: (m) => classification(m)?.weighted.precision ?? null },
    weighted_recall: { higher: true, get: (m) => classification(m)?.weighted.recall ?? null },
    weighted_f1: { higher: true, get: (m) => classification(m)?.weighted.f1 ?? null },
  },
  regression: {
    mae: { higher: false, get: (m) => regression(m)?.mae ?? null },
    mse: { higher: false, get: (m) => regression(m)?.mse ?? null },
    rmse: { higher: false, get: (m) => regression(m)?.rmse ?? null },
    r2: { higher: true, get: (m) => regression(m)?.r2 ?? null },
  },
  asr: {
    wer: { higher: false, get: (m) => asr(m)?.wer.rate ?? null },
    cer: { higher: false, get: (m) => asr(m)?.cer.rate ?? null },
  },
};

const SYNTAX = /^([a-z0-9_]+)\s*(>=|<=|>|<|=)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i;

export function parseThreshold(text: string, task: EvalTask): Threshold {
  const m = SYNTAX.exec(text.trim());
  if (m === null) {
    throw invalidEvalOption(`--threshold expects metric=value or metric<=value (also >=, <, >), e.g. accuracy=0.9, got "${text}"`);
  }
  const metric = (m[1] as string).toLowerCase();
  const def = METRICS[task][metric];
  if (def === undefined) {
    throw invalidEvalOption(`--threshold "${text}": ${task} has no metric ${metric}; it has ${Object.keys(METRICS[task]).join(', ')}`);
  }
  const op = m[2] === '=' ? (def.higher ? '>=' : '<=') : (m[2] as Op);
  return { metric, op, value: Number(m[3]), text };
}

function holds(actual: number, op: Op, value: number): boolean {
  switch (op) {
    case '>=':
      return actual >= value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '<':
      return actual < value;
  }
}

export function checkThresholds(thresholds: readonly Threshold[], metrics: TaskMetrics): ThresholdResult[] {
  return thresholds.map((t) => {
    const actual = (METRICS[metrics.task][t.metric] as MetricDef).get(metrics);
    return { ...t, actual, passed: actual !== null && holds(actual, t.op, t.value) };
  });
}
