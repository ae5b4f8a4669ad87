/** The parts of `aiges batch` (loader/tools/batch/): prediction extraction, the out folder, counting, the thresholds' syntax. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutDir, safeName } from '../../../loader/tools/batch/out-dir.js';
import { extractPrediction, extractV2Prediction, parsePredictionPath } from '../../../loader/tools/batch/prediction.js';
import { countItems } from '../../../loader/tools/batch/progress.js';
import { parseThreshold } from '../../../loader/tools/eval/thresholds.js';
import { DataType } from '../../../plugins/types.js';

const dir = mkdtempSync(join(tmpdir(), 'aiges-batch-parts-'));
const text = (key: string, data: string) => ({ key, type: DataType.TEXT, encoding: 'utf8', data: Buffer.from(data) });

describe('extractPrediction', () => {
  const rule = (key?: string, path?: string) => ({ key, path: parsePredictionPath(path) });

  it('takes the first output as text, or the named one', () => {
    const outs = [text('a', 'first'), text('b', 'second')];
    expect(extractPrediction(outs, rule())).toEqual({ ok: true, fields: { prediction: 'first' } });
    expect(extractPrediction(outs, rule('b'))).toEqual({ ok: true, fields: { prediction: 'second' } });
    expect(extractPrediction(outs, rule('c'))).toEqual({ ok: false, message: 'the answer has no output "c" (it has a, b)' });
    expect(extractPrediction([], rule())).toEqual({ ok: true, fields: { prediction: null } });
  });

  it('gives binary outputs in base64, saying so', () => {
    const bin = { key: 'data', type: DataType.OTHER, encoding: '', data: Buffer.from([0xff, 0]) };
    expect(extractPrediction([bin], rule())).toEqual({ ok: true, fields: { prediction: '/wA=', prediction_encoding: 'base64' } });
  });

  it('follows a dot path through the JSON text: object fields and array indexes', () => {
    const iris = text('prediction', '[{"class":"setosa","probabilities":{"setosa":0.99}}]');
    expect(extractPrediction([iris], rule(undefined, '0.class'))).toEqual({ ok: true, fields: { prediction: 'setosa' } });
    expect(extractPrediction([iris], rule(undefined, '0.probabilities.setosa'))).toEqual({ ok: true, fields: { prediction: 0.99 } });
    expect(extractPrediction([iris], rule(undefined, '1.class'))).toMatchObject({
      ok: false,
      message: expect.stringContaining('nothing at 1.class'),
    });
    expect(extractPrediction([text('p', 'not json')], rule(undefined, 'x'))).toMatchObject({ ok: false });
    expect(() => parsePredictionPath('a..b')).toThrow(/--prediction-path/);
  });
});

describe('extractV2Prediction', () => {
  const rule = (key?: string, path?: string) => ({ key, path: parsePredictionPath(path) });
  const label = { name: 'label', datatype: 'BYTES', shape: [1], data: ['cat'] };
  const scores = { name: 'scores', datatype: 'FP32', shape: [1, 3], data: [0.75, 0.125, 0.125] };
  const answer = { model_name: 'm', model_version: '1', id: 'x', outputs: [label, scores] };
  const outputs = answer.outputs;

  it('without a path: the data of the first or named output, its one element when it holds one', () => {
    expect(extractV2Prediction(answer, rule())).toEqual({ ok: true, fields: { prediction: 'cat', outputs } });
    expect(extractV2Prediction(answer, rule('scores'))).toEqual({ ok: true, fields: { prediction: [0.75, 0.125, 0.125], outputs } });
    expect(extractV2Prediction(answer, rule('probs'))).toEqual({
      ok: false,
      message: 'the answer has no output "probs" (it has label, scores)',
    });
  });

  it('a path from the answer top: list elements by index or by name', () => {
    expect(extractV2Prediction(answer, rule(undefined, 'outputs.1.data.0'))).toEqual({ ok: true, fields: { prediction: 0.75, outputs } });
    expect(extractV2Prediction(answer, rule(undefined, 'outputs.label.data.0'))).toEqual({
      ok: true,
      fields: { prediction: 'cat', outputs },
    });
    expect(extractV2Prediction(answer, rule(undefined, 'model_name'))).toEqual({ ok: true, fields: { prediction: 'm', outputs } });
    expect(extractV2Prediction(answer, rule(undefined, 'outputs.probs.data'))).toEqual({
      ok: false,
      message: 'the answer has nothing at outputs.probs.data (outputs label, scores)',
    });
  });
});

describe('OutDir', () => {
  it('reads the ids done, drops a line cut by a kill, and appends after it', async () => {
    const out = join(dir, 'resume');
    mkdirSync(out);
    writeFileSync(join(out, 'predictions.jsonl'), '{"id":"a","prediction":1}\n{"id":7,"prediction":2}\n{"id":"cut","pred');
    const o = await OutDir.open(out);
    expect([...o.done]).toEqual(['a', '7']);
    o.prediction({ id: 'b', prediction: 3 });
    o.close();
    expect(readFileSync(join(out, 'predictions.jsonl'), 'utf8')).toBe(
      '{"id":"a","prediction":1}\n{"id":7,"prediction":2}\n{"id":"b","prediction":3}\n',
    );
  });

  it('starts errors.jsonl afresh and writes output files by key and id, whole', async () => {
    const out = join(dir, 'files');
    mkdirSync(out);
    writeFileSync(join(out, 'errors.jsonl'), '{"id":"old"}\n');
    const o = await OutDir.open(out);
    o.error({ id: 'x', code: '10106', message: 'bad', attempts: 1 });
    expect(o.outputFiles('../up', [text('text', 'hi')])).toEqual(['outputs/text/___up']);
    o.close();
    expect(readFileSync(join(out, 'errors.jsonl'), 'utf8')).toBe('{"id":"x","code":"10106","message":"bad","attempts":1}\n');
    expect(readFileSync(join(out, 'outputs/text/___up'), 'utf8')).toBe('hi');
    expect(safeName('.hidden')).toBe('_hidden');
  });
});

describe('countItems', () => {
  it('counts folder files, JSONL lines (a last one without newline too) and CSV rows less the header', async () => {
    const folder = join(dir, 'count');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'a'), '');
    writeFileSync(join(folder, '.b'), '');
    expect(await countItems(folder, 'folder')).toBe(1);
    writeFileSync(join(dir, 'c.jsonl'), '{}\n{}\n{}');
    expect(await countItems(join(dir, 'c.jsonl'), 'jsonl')).toBe(3);
    writeFileSync(join(dir, 'c.csv'), 'id,x\n1,a\n2,b\n');
    expect(await countItems(join(dir, 'c.csv'), 'csv')).toBe(2);
  });
});

describe('parseThreshold', () => {
  it('reads = as the good side of the metric, and the written side as written', () => {
    expect(parseThreshold('accuracy=0.9', 'classification')).toMatchObject({ metric: 'accuracy', op: '>=', value: 0.9 });
    expect(parseThreshold('wer=0.2', 'asr')).toMatchObject({ metric: 'wer', op: '<=', value: 0.2 });
    expect(parseThreshold('r2 > .5', 'regression')).toMatchObject({ metric: 'r2', op: '>', value: 0.5 });
    expect(() => parseThreshold('accuracy~0.9', 'classification')).toThrow(/metric=value/);
    expect(() => parseThreshold('mae<=1', 'classification')).toThrow(/classification has no metric mae/);
  });
});
