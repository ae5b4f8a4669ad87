/** The HTML page of `aiges eval --html` for each task (loader/tools/eval/html.ts): self-contained, escaped. */
import { describe, expect, it } from 'vitest';
import { asr } from '../../../loader/tools/eval/asr.js';
import { classification } from '../../../loader/tools/eval/classification.js';
import { evalHtml } from '../../../loader/tools/eval/html.js';
import { regression } from '../../../loader/tools/eval/regression.js';
import type { EvalReport, TaskMetrics } from '../../../loader/tools/eval/report.js';

function report(metrics: TaskMetrics): EvalReport {
  const none = { count: 0, ids: [] };
  return {
    schemaVersion: 1,
    task: metrics.task,
    pred: 'p.jsonl',
    labels: 'l.csv',
    matched: metrics.count,
    missing: { noPrediction: { count: 2, ids: ['a', 'b'] }, noLabel: none, allowed: false },
    metrics,
    thresholds: [],
    passed: false,
  };
}

const selfContained = (page: string) => {
  expect(page).not.toMatch(/<script|<link|src=/);
  expect(page.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
};

describe('evalHtml', () => {
  it('classification: escapes class names in the matrix and the bars', () => {
    const page = evalHtml(report({ task: 'classification', ...classification([{ label: '<b>', prediction: '<b>' }]) }));
    expect(page).toContain('&#60;b&#62;');
    expect(page).not.toContain('<b>');
    expect(page).toContain('2 labelled id(s) have no prediction');
    selfContained(page);
  });

  it('regression: its figures; R² undefined said so', () => {
    const page = evalHtml(report({ task: 'regression', ...regression([{ label: 1, prediction: 2 }]) }));
    expect(page).toContain('<th class="l">MAE</th><td>1</td>');
    expect(page).toContain('every label is the same');
    selfContained(page);
  });

  it('asr: WER, CER and the alignment counts as bars', () => {
    const page = evalHtml(report({ task: 'asr', ...asr([{ label: 'hello world', prediction: 'hello duck' }]) }));
    expect(page).toContain('<th class="l">WER</th><td>0.5000 (2 reference words)</td>');
    expect(page).toContain('<title>substitutions 1</title>');
    selfContained(page);
  });
});
