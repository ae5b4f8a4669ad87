/** `aiges eval` as a user runs it: the built CLI over files in a temporary folder. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvalCodes } from '../../loader/tools/eval/errors.js';
import type { EvalReport } from '../../loader/tools/eval/report.js';
import { runToExit } from './serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'aiges-eval-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const jsonl = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

// The ten items of test/tools/eval/metrics.test.ts: accuracy 0.6.
const labels = file(
  'labels.csv',
  `id,label\n${'aaaabbbccc'
    .split('')
    .map((l, i) => `item-${i},${l}`)
    .join('\n')}\n`,
);
const pred = file('pred.jsonl', jsonl('aabcbbaccb'.split('').map((p, i) => ({ id: `item-${i}`, prediction: p, latency_ms: 1 }))));

describe('aiges eval --task classification', () => {
  it('prints accuracy, the per-class table and the confusion matrix, exit 0', async () => {
    const r = await runToExit(['eval', '--pred', pred, '--labels', labels, '--task', 'classification']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('accuracy          60.00% (6 of 10)');
    expect(r.stdout).toMatch(/\n {4}a {6}\s+0\.6667\s+0\.5000\s+0\.5714\s+4\n/);
    expect(r.stdout).toContain('confusion (rows: label, columns: prediction)');
    expect(r.stdout).toContain('result            passed');
  });

  it('--json: the report with schemaVersion 1', async () => {
    const r = await runToExit(['eval', '--pred', pred, '--labels', labels, '--task', 'classification', '--json']);
    const report = JSON.parse(r.stdout) as EvalReport;
    expect(report).toMatchObject({ schemaVersion: 1, task: 'classification', matched: 10, passed: true });
    expect(report.metrics).toMatchObject({ task: 'classification', accuracy: 0.6, correct: 6 });
  });

  it('--threshold sets the exit status, naming the failed threshold', async () => {
    const ok = await runToExit(['eval', '--pred', pred, '--labels', labels, '--task', 'classification', '--threshold', 'accuracy=0.6']);
    expect(ok.code).toBe(0);
    const bad = await runToExit([
      'eval',
      ...['--pred', pred, '--labels', labels, '--task', 'classification'],
      ...['--threshold', 'accuracy=0.9', '--threshold', 'macro_f1>0.5'],
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('aiges eval: threshold accuracy>=0.9 failed: accuracy is 0.6000\n');
    expect(bad.stdout).toContain('threshold         macro_f1>0.5: ok (0.6032)');
  });

  it('writes a self-contained HTML page with the confusion matrix and per-class bars', async () => {
    const html = join(dir, 'report.html');
    const r = await runToExit(['eval', '--pred', pred, '--labels', labels, '--task', 'classification', '--html', html]);
    expect(r.code).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<table class="cm">');
    expect(page).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(page).toContain('<title>a precision 0.6667</title>');
    // Nothing fetched: no script, no link, no remote URL but the SVG namespace.
    expect(page).not.toMatch(/<script|<link|src=/);
    expect(page.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
  });

  it('reports ids on one side only and fails unless --allow-missing', async () => {
    const partial = file(
      'partial.jsonl',
      jsonl([
        { id: 'item-0', prediction: 'a' },
        { id: 'item-1', prediction: 'a' },
        { id: 'stray', prediction: 'b' },
      ]),
    );
    const r = await runToExit(['eval', '--pred', partial, '--labels', labels, '--task', 'classification', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as EvalReport;
    expect(report.matched).toBe(2);
    expect(report.missing.noPrediction).toEqual({
      count: 8,
      ids: ['item-2', 'item-3', 'item-4', 'item-5', 'item-6', 'item-7', 'item-8', 'item-9'],
    });
    expect(report.missing.noLabel).toEqual({ count: 1, ids: ['stray'] });
    expect(r.stderr).toContain('aiges eval: 8 labelled id(s) have no prediction (--allow-missing to score without them)\n');
    expect(r.stderr).toContain('aiges eval: 1 predicted id(s) have no label');
    const allowed = await runToExit(['eval', '--pred', partial, '--labels', labels, '--task', 'classification', '--allow-missing']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('no prediction     8: item-2, item-3');
  });

  it('refuses malformed input with a code and file:line, exit 2', async () => {
    const cases: [string, string, string][] = [
      [file('bad-json.jsonl', '{"id":"a","prediction":"x"}\nnot json\n'), EvalCodes.BAD_RECORD, 'bad-json.jsonl:2: not JSON'],
      [
        file(
          'twice.jsonl',
          jsonl([
            { id: 'a', prediction: 'x' },
            { id: 'a', prediction: 'y' },
          ]),
        ),
        EvalCodes.BAD_RECORD,
        'twice.jsonl:2: id "a" is given twice',
      ],
      [file('no-id.jsonl', jsonl([{ prediction: 'x' }])), EvalCodes.BAD_RECORD, 'no-id.jsonl:1: no "id"'],
      [file('object.jsonl', jsonl([{ id: 'a', prediction: [{ class: 'x' }] }])), EvalCodes.BAD_RECORD, '--prediction-path'],
      [join(dir, 'absent.jsonl'), EvalCodes.FILE_UNREADABLE, 'absent.jsonl: cannot read it'],
    ];
    for (const [predFile, code, text] of cases) {
      const r = await runToExit(['eval', '--pred', predFile, '--labels', labels, '--task', 'classification']);
      expect(r.code, predFile).toBe(2);
      expect(r.stderr).toContain(`aiges eval: [${code}] `);
      expect(r.stderr).toContain(text);
    }
    const t = await runToExit(['eval', '--pred', pred, '--labels', labels, '--task', 'classification', '--threshold', 'wer<=0.2']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain(`[${EvalCodes.INVALID_OPTION}] --threshold "wer<=0.2": classification has no metric wer; it has accuracy,`);
  });
});

describe('aiges eval --task regression and asr', () => {
  it('regression from JSONL labels and CSV-style string numbers', async () => {
    const l = file('reg-labels.jsonl', jsonl([1, 2, 3, 4].map((label, i) => ({ id: i, label }))));
    const p = file('reg-pred.jsonl', jsonl(['1.5', 2, 2, '5'].map((prediction, i) => ({ id: i, prediction }))));
    const r = await runToExit(['eval', '--pred', p, '--labels', l, '--task', 'regression', '--json', '--threshold', 'rmse=0.7']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as EvalReport;
    expect(report.metrics).toEqual({ task: 'regression', count: 4, mae: 0.625, mse: 0.5625, rmse: 0.75, r2: 0.55 });
    expect(r.stderr).toBe('aiges eval: threshold rmse<=0.7 failed: rmse is 0.7500\n');
  });

  it('asr: WER and CER with counts; --lowercase and --strip-punct', async () => {
    const l = file(
      'refs.jsonl',
      jsonl([
        { id: 'u1', label: 'Hello, world.' },
        { id: 'u2', label: 'i like monthy python' },
      ]),
    );
    const p = file(
      'hyps.jsonl',
      jsonl([
        { id: 'u1', prediction: 'hello duck' },
        { id: 'u2', prediction: 'i like python' },
      ]),
    );
    const flags = ['--lowercase', '--strip-punct', '--threshold', 'wer<=0.2'];
    const r = await runToExit(['eval', '--pred', p, '--labels', l, '--task', 'asr', ...flags]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('wer               33.33% (S 1, D 1, I 0, H 4; 6 reference tokens)');
    expect(r.stderr).toBe('aiges eval: threshold wer<=0.2 failed: wer is 0.3333\n');
  });
});
