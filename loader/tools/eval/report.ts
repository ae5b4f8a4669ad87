/**
 * `aiges eval`'s report: the task's metrics over the ids found on both sides, the ids found on one
 * side only, and each threshold with its outcome. The JSON shape (`schemaVersion` 1) is documented
 * in docs/batch.md; the text form is what the CLI prints without --json.
 */
import { type AsrMetrics, asr, type Normalisation } from './asr.js';
import { type ClassificationMetrics, classification } from './classification.js';
import { type Convert, join, type MissingIds } from './pairs.js';
import { type RegressionMetrics, regression } from './regression.js';
import { checkThresholds, type Threshold, type ThresholdResult } from './thresholds.js';

export const EVAL_TASKS = ['classification', 'regression', 'asr'] as const;
export type EvalTask = (typeof EVAL_TASKS)[number];

export type TaskMetrics =
  | ({ task: 'classification' } & ClassificationMetrics)
  | ({ task: 'regression' } & RegressionMetrics)
  | ({ task: 'asr' } & AsrMetrics);

export interface EvalOptions {
  pred: string;
  labels: string;
  task: EvalTask;
  thresholds: readonly Threshold[];
  /** asr only. */
  normalisation: Normalisation;
  /** Ids on one side only do not fail the run. */
  allowMissing: boolean;
}

export interface EvalReport {
  schemaVersion: 1;
  task: EvalTask;
  pred: string;
  labels: string;
  /** Ids found on both sides: the items scored. */
  matched: number;
  missing: { noPrediction: MissingIds; noLabel: MissingIds; allowed: boolean };
  metrics: TaskMetrics;
  thresholds: ThresholdResult[];
  /** Every threshold holds and no id is missing (or --allow-missing). */
  passed: boolean;
}

/** A class name: a string, or a number or boolean as its text. */
const text: Convert<string> = (v, field) => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(
    `the ${field} must be a string or a number, got ${JSON.stringify(v)}` +
      (field === 'prediction' ? ' (aiges batch --prediction-path picks a field of a JSON output)' : ''),
  );
};

/** A number, or a string that is one (CSV cells are strings). */
const number: Convert<number> = (v, field) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) throw new Error(`the ${field} must be a finite number, got ${JSON.stringify(v)}`);
  return n;
};

const transcript: Convert<string> = (v, field) => {
  if (typeof v !== 'string') throw new Error(`the ${field} must be a string (a transcript), got ${JSON.stringify(v)}`);
  return v;
};

async function metricsOf(o: EvalOptions) {
  switch (o.task) {
    case 'classification': {
      const j = await join(o.pred, o.labels, text);
      return { j, metrics: { task: 'classification', ...classification(j.pairs) } as TaskMetrics };
    }
    case 'regression': {
      const j = await join(o.pred, o.labels, number);
      return { j, metrics: { task: 'regression', ...regression(j.pairs) } as TaskMetrics };
    }
    case 'asr': {
      const j = await join(o.pred, o.labels, transcript);
      return { j, metrics: { task: 'asr', ...asr(j.pairs, o.normalisation) } as TaskMetrics };
    }
  }
}

export async function evaluate(o: EvalOptions): Promise<EvalReport> {
  const { j, metrics } = await metricsOf(o);
  const thresholds = checkThresholds(o.thresholds, metrics);
  const missingOk = o.allowMissing || (j.noPrediction.count === 0 && j.noLabel.count === 0);
  return {
    schemaVersion: 1,
    task: o.task,
    pred: o.pred,
    labels: o.labels,
    matched: j.pairs.length,
    missing: { noPrediction: j.noPrediction, noLabel: j.noLabel, allowed: o.allowMissing },
    metrics,
    thresholds,
    passed: missingOk && thresholds.every((t) => t.passed),
  };
}

/** The lines that say why a report did not pass, as `aiges eval` prints them on stderr. */
export function failures(r: EvalReport): string[] {
  const lines = r.thresholds
    .filter((t) => !t.passed)
    .map(
      (t) =>
        `threshold ${t.metric}${t.op}${t.value} failed: ${t.metric} is ${t.actual === null ? 'undefined on this data' : fixed(t.actual)}`,
    );
  if (!r.missing.allowed) {
    const { noPrediction, noLabel } = r.missing;
    if (noPrediction.count > 0)
      lines.push(`${noPrediction.count} labelled id(s) have no prediction (--allow-missing to score without them)`);
    if (noLabel.count > 0) lines.push(`${noLabel.count} predicted id(s) have no label (--allow-missing to score without them)`);
  }
  return lines;
}

const fixed = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(4));
const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(2)}%`);
const row = (label: string, value: string) => `  ${label.padEnd(18)}${value}`;
const ids = (m: MissingIds) => (m.count === 0 ? '0' : `${m.count}: ${m.ids.join(', ')}${m.count > m.ids.length ? ', …' : ''}`);

function metricLines(m: TaskMetrics): string[] {
  switch (m.task) {
    case 'classification': {
      const width = Math.max('weighted'.length, ...m.classes.map((c) => c.class.length));
      const avg = (name: string, a: { precision: number; recall: number; f1: number }, support: number) =>
        `    ${name.padEnd(width)}  ${fixed(a.precision).padStart(9)}  ${fixed(a.recall).padStart(9)}  ${fixed(a.f1).padStart(9)}  ${String(support).padStart(7)}`;
      return [
        row('accuracy', `${pct(m.accuracy)} (${m.correct} of ${m.count})`),
        `    ${'class'.padEnd(width)}  precision     recall         f1  support`,
        ...m.classes.map((c) => avg(c.class, c, c.support)),
        avg('macro', m.macro, m.count),
        avg('weighted', m.weighted, m.count),
        '  confusion (rows: label, columns: prediction)',
        `    ${''.padEnd(width)}  ${m.confusion.labels.map((l) => l.padStart(Math.max(6, l.length))).join(' ')}`,
        ...m.confusion.matrix.map(
          (r, i) =>
            `    ${(m.confusion.labels[i] as string).padEnd(width)}  ${r.map((v, k) => String(v).padStart(Math.max(6, (m.confusion.labels[k] as string).length))).join(' ')}`,
        ),
      ];
    }
    case 'regression':
      return [
        row('mae', fixed(m.mae)),
        row('rmse', fixed(m.rmse)),
        row('mse', fixed(m.mse)),
        row('r2', m.r2 === null ? '- (every label is the same)' : fixed(m.r2)),
      ];
    case 'asr': {
      const counts = (e: AsrMetrics['wer']) =>
        `${pct(e.rate)} (S ${e.substitutions}, D ${e.deletions}, I ${e.insertions}, H ${e.hits}; ${e.reference} reference tokens)`;
      return [row('wer', counts(m.wer)), row('cer', counts(m.cer)), row('exact', `${m.exact} of ${m.count} utterances`)];
    }
  }
}

export function formatEval(r: EvalReport): string {
  const lines = [
    `aiges eval: ${r.task}, ${r.pred} against ${r.labels}`,
    row('matched', `${r.matched} id(s)`),
    row('no prediction', ids(r.missing.noPrediction)),
    row('no label', ids(r.missing.noLabel)),
    ...metricLines(r.metrics),
  ];
  for (const t of r.thresholds) {
    lines.push(
      row(
        `threshold`,
        `${t.metric}${t.op}${t.value}: ${t.passed ? 'ok' : 'FAILED'} (${t.actual === null ? 'undefined' : fixed(t.actual)})`,
      ),
    );
  }
  lines.push(row('result', r.passed ? 'passed' : 'FAILED'));
  return `${lines.join('\n')}\n`;
}
