/**
 * `aiges serve` with ONNX models (the built CLI, real processes): one model file, a repository
 * beside nothing else, and the start errors a reader meets (a repository that is not a folder,
 * nothing to serve).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scaleModel, writeModel } from '../lib/onnx-models.js';
import { runToExit, startServe } from './serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'aiges-serve-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `aiges serve <args>`, infers x = [1, 2] with `model` over V2 REST, stops it; resolves with y. */
async function servedAnswer(args: string[], model: string): Promise<unknown> {
  const serve = await startServe(args);
  try {
    const res = await fetch(`http://127.0.0.1:${serve.httpPort}/v2/models/${model}/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }),
    });
    return ((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data;
  } finally {
    serve.proc.kill('SIGTERM');
    await serve.exited;
  }
}

describe('aiges serve with ONNX models', () => {
  it('aiges serve model.onnx serves the file as the service named after it', async () => {
    const file = join(dir, 'triple.onnx');
    writeFileSync(file, scaleModel(3));
    expect(await servedAnswer([file], 'triple')).toEqual([3, 6]);
  }, 60_000);

  it('aiges serve --model-repository DIR serves its models with no plugin', async () => {
    const repo = join(dir, 'repo');
    writeModel(repo, 'half', 1, scaleModel(0.5));
    expect(await servedAnswer(['--model-repository', repo], 'half')).toEqual([0.5, 1]);
  }, 60_000);

  it('a repository that is not a folder, or nothing to serve, stops the start with one line (exit 1)', async () => {
    const missing = await runToExit(['serve', '--model-repository', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`aiges serve: model repository ${join(dir, 'nope')} is not a folder`);
    const nothing = await runToExit(['serve']);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain(
      'no plugin to serve: give a plugin path (aiges serve <plugin>) or a model repository (--model-repository DIR)',
    );
  }, 60_000);
});
