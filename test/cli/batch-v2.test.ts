/**
 * `aiges batch` with V2 JSONL lines (V2 inference requests), as a user runs it: the built CLI
 * against the tensor-scale fixture (y = x × 10, FP32) in-process, over gRPC ModelInfer and over
 * HTTP `POST /v2/models/{m}/infer` of a real `aiges serve`. Every target writes the same lines: the
 * V2 output tensors and the prediction `--prediction-path` takes from them (by index or by output
 * name); a line the V2 parser refuses fails alone with its code; AIGes lines in the same file still
 * go the AIGes way.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BatchSummary } from '../../loader/tools/batch/summary.js';
import { runToExit } from './serve-process.js';
import { serveDuringSuite } from './serve-suite.js';

const PLUGIN = 'test/fixtures/plugins/tensor-scale.ts';
const dir = mkdtempSync(join(tmpdir(), 'aiges-batch-v2-'));
const xs: Record<string, number[]> = { a: [0.5, 1.25], b: [2, -3, 4], c: [7] };
const v2Line = (id: string | number, x: unknown[], shape = [x.length]) =>
  JSON.stringify({ id, inputs: [{ name: 'x', datatype: 'FP32', shape, data: x }] });
const input = join(dir, 'scale.jsonl');
writeFileSync(
  input,
  `${[
    ...Object.entries(xs).map(([id, x]) => v2Line(id, x)),
    v2Line('short', [1, 2], [3]),
    JSON.stringify({ id: 'no-inputs', inputs: [] }),
    v2Line(9, [1]),
    // Asks for binary outputs, which a line cannot hold: answered in JSON all the same.
    JSON.stringify({
      id: 'bin',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [0.25] }],
      parameters: { binary_data_output: true },
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    }),
  ].join('\n')}\n`,
);

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const byId = (path: string) =>
  Object.fromEntries(
    lines(path).map(({ id, ms, ...rest }) => {
      expect(typeof ms).toBe('number');
      return [id as string, rest];
    }),
  );
const yTensor = (x: number[]) => ({ name: 'y', datatype: 'FP32', shape: [x.length], data: x.map((v) => v * 10) });

async function batch(target: string[], out: string, flags: string[] = []) {
  const r = await runToExit(['batch', ...target, '--input', input, '--out', join(dir, out), '--json', '--no-progress', ...flags]);
  expect(r.code, r.stderr).toBe(1);
  return JSON.parse(r.stdout) as BatchSummary;
}

describe('aiges batch, V2 JSONL lines', () => {
  const serve = serveDuringSuite([PLUGIN]);
  const echo = serveDuringSuite(['demo/echo']);
  const targets: [string, () => string[]][] = [
    ['in-process', () => [PLUGIN]],
    ['gRPC', () => [`127.0.0.1:${serve.current.grpcPort}`, 'tensor-scale']],
    ['HTTP', () => [`http://127.0.0.1:${serve.current.httpPort}`, 'tensor-scale']],
  ];

  it.each(targets)('%s: output tensors in each line; the prediction by output name; bad lines fail alone', async (name, target) => {
    const out = `scale-${name}`;
    const s = await batch(target(), out, ['--prediction-path', 'outputs.y.data.0']);
    expect(s.items).toEqual({ read: 7, skipped: 0, ok: 5, failed: 2 });
    expect(s.failures).toEqual([{ code: '10009', count: 2, message: expect.any(String) }]);
    const got = byId(join(dir, out, 'predictions.jsonl'));
    const want = Object.fromEntries(
      [...Object.entries(xs), ['9', [1]] as [string, number[]], ['bin', [0.25]] as [string, number[]]].map(([id, x]) => [
        id,
        { prediction: (x[0] as number) * 10, outputs: [yTensor(x)] },
      ]),
    );
    expect(got).toEqual(want);
    const errors = lines(join(dir, out, 'errors.jsonl'));
    expect(errors.map((e) => [e['id'], e['code'], e['attempts']]).sort()).toEqual([
      ['no-inputs', '10009', 0],
      ['short', '10009', 0],
    ]);
    expect(errors.find((e) => e['id'] === 'short')?.['message']).toContain('shape [3] needs 3 elements');
  });

  it.each(targets)('%s: --prediction-path by index; without a path the first output data', async (name, target) => {
    const indexed = await batch(target(), `index-${name}`, ['--prediction-path', 'outputs.0.data.1']);
    // c, 9 and bin have one element only: nothing at data.1 fails the item as `output`.
    expect(indexed.items).toEqual({ read: 7, skipped: 0, ok: 2, failed: 5 });
    expect(indexed.failures.find((f) => f.code === 'output')).toEqual({
      code: 'output',
      count: 3,
      message: 'the answer has nothing at outputs.0.data.1 (outputs y)',
    });
    const got = byId(join(dir, `index-${name}`, 'predictions.jsonl'));
    expect(Object.fromEntries(Object.entries(got).map(([id, l]) => [id, l['prediction']]))).toEqual({ a: 12.5, b: -30 });

    await batch(target(), `plain-${name}`);
    const plain = byId(join(dir, `plain-${name}`, 'predictions.jsonl'));
    expect(Object.fromEntries(Object.entries(plain).map(([id, l]) => [id, l['prediction']]))).toEqual({
      a: [5, 12.5],
      b: [20, -30, 40],
      c: 70,
      '9': 10,
      bin: 2.5,
    });
  });

  it('a file of AIGes and V2 lines: each line goes its own way, over gRPC', async () => {
    const mixed = join(dir, 'mixed.jsonl');
    const aiges = { id: 'aiges', payload: { text: { encoding: 'utf8', status: 3, text: Buffer.from('hi').toString('base64') } } };
    const v2 = { id: 'v2', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['hello'] }], parameters: { delay_ms: 1 } };
    writeFileSync(mixed, `${JSON.stringify(aiges)}\n${JSON.stringify(v2)}\n`);
    const out = join(dir, 'mixed-out');
    const r = await runToExit(['batch', `127.0.0.1:${echo.current.grpcPort}`, 'echo', '--input', mixed, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(byId(join(out, 'predictions.jsonl'))).toEqual({
      aiges: { prediction: 'hi' },
      v2: { prediction: 'hello', outputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['hello'] }] },
    });
  });
});
