/**
 * The image-classifier pipeline in a real loader (port 0): the plugin of this folder beside a
 * model repository holding the colour model built by make-model.ts, served by real ONNX Runtime
 * sessions. Expected scores are recomputed here from the image's pixels and the model's known
 * weights (colours.ts): area averaging keeps an image's mean colour, and the model scores the mean.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { item } from '../../plugins/testing.js';
import { codeOf, startTestLoader, type TestLoader } from '../../test/polaris/helpers.js';
import { url } from '../../test/server/http-helpers.js';
import { LABELS, MODEL, scoresOf } from './colours.js';
import { writeColourModel } from './make-model.js';
import { pngOf, SAMPLES } from './make-samples.js';

interface Labels {
  labels: { label: string; score: number }[];
}

const repo = mkdtempSync(join(tmpdir(), 'aiges-image-classifier-'));
let t: TestLoader;

beforeAll(async () => {
  writeColourModel(repo);
  t = await startTestLoader({ plugin: { path: 'demo/image-classifier' }, repository: { path: repo } });
});

afterAll(async () => {
  await t?.loader.stop();
  rmSync(repo, { recursive: true, force: true });
});

/** Classifies PNG bytes through the loader's data plane (as a client's call); resolves with the answer. */
async function classify(png: Buffer, params: Record<string, string> = {}): Promise<Labels> {
  const out = await t.loader.dataplane.infer({
    service: 'image-classifier',
    params,
    headers: {},
    items: [item('image', png, { type: 'image' })],
  });
  return JSON.parse(out[0]?.data.toString() ?? '') as Labels;
}

/** The mean colour of PNG bytes, in [0, 1], read here with pngjs. */
function meanOf(png: Buffer): [number, number, number] {
  const { data, width, height } = PNG.sync.read(png);
  const sum = [0, 0, 0];
  for (let p = 0; p < width * height; p++) for (let c = 0; c < 3; c++) sum[c] = (sum[c] as number) + (data[p * 4 + c] as number);
  return sum.map((s) => s / 255 / (width * height)) as [number, number, number];
}

/** The expected answer for an image: every label with its reference score, best first, top k. */
function expected(png: Buffer, k: number): Labels {
  const scores = scoresOf(meanOf(png));
  const ranked = LABELS.map((label, i) => ({ label, score: scores[i] as number })).sort((a, b) => b.score - a.score);
  return { labels: ranked.slice(0, k) };
}

function expectClose(got: Labels, want: Labels) {
  expect(got.labels.map((l) => l.label)).toEqual(want.labels.map((l) => l.label));
  for (const [i, l] of got.labels.entries()) expect(l.score).toBeCloseTo(want.labels[i]?.score as number, 5);
}

async function post(path: string): Promise<number> {
  return (await fetch(url(t.loader, path), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status;
}

describe('image-classifier: PNG → TS pre-processing → ONNX model → top k', () => {
  it('classifies each sample by its colour, with the scores the known weights give', async () => {
    const red = SAMPLES['red.png']?.() as Buffer;
    const got = await classify(red);
    expect(got.labels[0]?.label).toBe('red');
    expect(got.labels[0]?.score).toBeGreaterThan(0.9);
    expectClose(got, expected(red, 3));
    for (const [name, make] of Object.entries(SAMPLES)) {
      const png = make();
      const answer = await classify(png);
      expectClose(answer, expected(png, 3));
      expect({ name, top: answer.labels[0]?.label }).toEqual({
        name,
        top: name === 'red-blue-stripe.png' ? 'red' : name.replace('.png', ''),
      });
    }
  });

  it('answers top_k labels (default 3), scores summing to 1 over all four', async () => {
    const png = pngOf(7, 5, (x) => [x * 30, 100, 200 - x * 20]);
    expectClose(await classify(png, { top_k: '1' }), expected(png, 1));
    expect((await classify(png)).labels).toHaveLength(3);
    const all = await classify(png, { top_k: '4' });
    expectClose(all, expected(png, 4));
    expect(all.labels.reduce((s, l) => s + l.score, 0)).toBeCloseTo(1, 5);
    expect(await codeOf(classify(png, { top_k: '5' }))).toBe(10107);
  });

  it('over V2 REST too: the PNG as a BYTES input in binary data, the labels as a BYTES output', async () => {
    const png = SAMPLES['green.png']?.() as Buffer;
    const size = Buffer.alloc(4);
    size.writeUInt32LE(png.length);
    const header = Buffer.from(
      JSON.stringify({
        parameters: { top_k: 2 },
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: png.length + 4 } }],
      }),
    );
    const res = await fetch(url(t.loader, '/v2/models/image-classifier/infer'), {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, size, png]),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { name: string; datatype: string; data: string[] }[] };
    expect(body.outputs.map((o) => [o.name, o.datatype])).toEqual([['labels', 'BYTES']]);
    expectClose(JSON.parse(body.outputs[0]?.data[0] ?? '') as Labels, expected(png, 2));
  });

  it('a non-PNG image is refused with 10009 naming the problem', async () => {
    const call = classify(Buffer.from('GIF89a not a png'));
    await expect(call).rejects.toMatchObject({ aigesCode: 10009, message: expect.stringContaining('image is not a readable PNG') });
  });

  it('concurrent classifications share model runs (dynamic batching)', async () => {
    const before = await modelStats();
    const images = Array.from({ length: 16 }, (_, i) => pngOf(32, 32, () => [i * 15, 255 - i * 15, 70]));
    const answers = await Promise.all(images.map((png) => classify(png, { top_k: '4' })));
    for (const [i, a] of answers.entries()) expectClose(a, expected(images[i] as Buffer, 4));
    const after = await modelStats();
    expect(after.inference_count - before.inference_count).toBe(16);
    expect(after.execution_count - before.execution_count).toBeLessThan(16);
  });

  it("with the model unloaded the call fails with the model's code (10200); loaded again, it serves", async () => {
    const red = SAMPLES['red.png']?.() as Buffer;
    expect(await post(`/v2/repository/models/${MODEL}/unload`)).toBe(200);
    await expect(classify(red)).rejects.toMatchObject({ aigesCode: 10200, message: expect.stringContaining(`service "${MODEL}"`) });
    expect(await post(`/v2/repository/models/${MODEL}/load`)).toBe(200);
    expect((await classify(red)).labels[0]?.label).toBe('red');
  });
});

async function modelStats(): Promise<{ inference_count: number; execution_count: number }> {
  const res = await fetch(url(t.loader, `/v2/models/${MODEL}/stats`));
  const body = (await res.json()) as { model_stats: { inference_count: number; execution_count: number }[] };
  return body.model_stats[0] as { inference_count: number; execution_count: number };
}
