/**
 * The `onnx` kind: an ONNX model built at test time, loaded by onnxruntime-node. Its metadata
 * becomes the schema (each common datatype, symbolic dimensions as -1), exec runs the model on
 * tensor items; served by a real loader, V2 REST and V2 gRPC give the model's numbers (checked
 * against a softmax computed here).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { onnxKind } from '../../loader/plugin/kind-onnx.js';
import { AigesSection } from '../../loader/config/schema.js';
import { DataStatus, DataType, type DataItem, type Wrapper } from '../../plugins/types.js';
import { tensorData, tensorView } from '../../plugins/tensor.js';
import { classifierModel, classify, identityModel, type ElementType } from '../lib/onnx-models.js';
import { startLoader, url } from '../server/http-helpers.js';
import { inferenceClient, v2Unary } from '../server/grpc-helpers.js';
import { createLoaderClient, infer } from '../../loader/tools/client.js';

const W = [0.5, -1, 2, 1, 0.25, -0.5, -2, 1, 0.75, 0.1, 0.2, 0.3];
let dir: string;
let loader: Loader;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aiges-onnx-'));
  writeFileSync(join(dir, 'iris.onnx'), classifierModel(W));
  loader = await startLoader({ plugin: { path: join(dir, 'iris.onnx') } });
}, 30_000);

afterAll(async () => {
  await loader?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function load(file: string, section: Record<string, unknown> = {}): Promise<Wrapper> {
  return onnxKind.load(
    { entry: file, dir, kind: 'onnx', defaultConfig: undefined },
    { concurrency: 1, section, schema: undefined, aiges: AigesSection.parse({}) },
  );
}

function item(key: string, datatype: string, shape: number[], data: Buffer): DataItem {
  return { key, type: DataType.OTHER, status: DataStatus.ONCE, encoding: '', attributes: {}, data, tensor: { datatype, shape } };
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i] as number, 5);
}

const ctx = (state: unknown) => ({ state, sid: 's', signal: new AbortController().signal, deadline: Date.now() + 5000 }) as never;

describe('metadata → schema, and exec, for each datatype', () => {
  const cases: [ElementType, string, Buffer][] = [
    ['float32', 'FP32', tensorData(new Float32Array([1.5, -2, 3, 4]))],
    ['float64', 'FP64', tensorData(new Float64Array([1e300, -2, 3.25, 0]))],
    ['float16', 'FP16', tensorData(new Uint16Array([0x3c00, 0xc000, 0x4200, 0]))],
    ['int8', 'INT8', tensorData(new Int8Array([-128, 127, 0, 5]))],
    ['int16', 'INT16', tensorData(new Int16Array([-32768, 32767, 1, 2]))],
    ['int32', 'INT32', tensorData(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 7, 8]))],
    ['int64', 'INT64', tensorData(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 9n, 10n]))],
    ['uint8', 'UINT8', tensorData(new Uint8Array([0, 255, 1, 2]))],
    ['uint16', 'UINT16', tensorData(new Uint16Array([0, 65535, 1, 2]))],
    ['uint32', 'UINT32', tensorData(new Uint32Array([0, 2 ** 32 - 1, 1, 2]))],
    ['uint64', 'UINT64', tensorData(new BigUint64Array([0n, 2n ** 64n - 1n, 1n, 2n]))],
    ['bool', 'BOOL', Buffer.from([1, 0, 0, 1])],
    ['string', 'BYTES', tensorData(['a', 'héllo', '', 'z'])],
  ];
  for (const [type, datatype, data] of cases) {
    it(`${type} ↔ ${datatype}`, async () => {
      writeFileSync(join(dir, `id-${type}.onnx`), identityModel(type, ['N', 2]));
      const wrapper = await load(join(dir, `id-${type}.onnx`));
      expect(wrapper.id).toBe(`id-${type}`);
      expect(wrapper.schema).toEqual({
        input: { x: { type: 'other', datatype, shape: [-1, 2] } },
        output: { y: { type: 'other', datatype, shape: [-1, 2] } },
      });
      const state = await wrapper.init?.({}, {} as never);
      try {
        const out = await wrapper.exec?.(
          { service: wrapper.id, params: {}, headers: {}, items: [item('x', datatype, [2, 2], data)] },
          ctx(state),
        );
        expect(out).toHaveLength(1);
        expect(out?.[0]?.tensor).toEqual({ datatype, shape: [2, 2] });
        expect(Buffer.from(out?.[0]?.data as Uint8Array)).toEqual(data);
      } finally {
        await wrapper.fini?.(state);
      }
    });
  }

  it('fixed and symbolic dimensions; [plugin.onnx] name sets the service id', async () => {
    writeFileSync(join(dir, 'dims.onnx'), identityModel('float32', ['batch', 3, 'width']));
    const wrapper = await load(join(dir, 'dims.onnx'), { name: 'renamed' });
    expect(wrapper.id).toBe('renamed');
    expect(wrapper.schema.input['x']?.shape).toEqual([-1, 3, -1]);
    await wrapper.fini?.(await wrapper.init?.({}, {} as never));
  });

  it('a file that is not a model fails to load, naming it', async () => {
    writeFileSync(join(dir, 'broken.onnx'), 'not a model');
    await expect(load(join(dir, 'broken.onnx'))).rejects.toMatchObject({
      aigesCode: 10901,
      message: expect.stringContaining(`cannot load ${join(dir, 'broken.onnx')}`),
    });
  });
});

describe('served by a loader', () => {
  const x = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3];

  it('V2 REST: metadata from the model, infer with JSON data gives softmax(x · W)', async () => {
    const meta = await (await fetch(url(loader, '/v2/models/iris'))).json();
    expect(meta).toEqual({
      name: 'iris',
      versions: ['1'],
      platform: 'aiges-ts',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 3] }],
    });
    const res = await fetch(url(loader, '/v2/models/iris/infer'), {
      method: 'POST',
      body: JSON.stringify({ id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: x }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body).toMatchObject({
      model_name: 'iris',
      model_version: '1',
      id: 'r1',
      outputs: [{ name: 'probs', datatype: 'FP32', shape: [2, 3] }],
    });
    expectClose(body.outputs[0].data, classify(x, W));
  });

  it('V2 REST: a wrong fixed dimension is refused before the model runs (400)', async () => {
    const res = await fetch(url(loader, '/v2/models/iris/infer'), {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
  });

  it("aiges.v1 Infer: a tensor item in, the model's tensor item out", async () => {
    const client = createLoaderClient(`127.0.0.1:${loader.grpcPort}`);
    try {
      const res = await infer(client, {
        service: 'iris',
        items: [{ key: 'x', type: 4, status: 3, data: tensorData(new Float32Array(x)), datatype: 'FP32', shape: [2, 4] }],
      });
      expect(res.items[0]).toMatchObject({ key: 'probs', datatype: 'FP32', shape: [2, 3] });
      const data = res.items[0]?.data as Buffer;
      expectClose(new Float32Array(new Uint8Array(data).buffer), classify(x, W));
    } finally {
      client.close();
    }
  });

  it('V2 gRPC ModelInfer with raw contents', async () => {
    const client = inferenceClient(`127.0.0.1:${loader.grpcPort}`);
    try {
      const res = await v2Unary<any>(client, 'ModelInfer', {
        modelName: 'iris',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4] }],
        rawInputContents: [tensorData(new Float32Array(x))],
      });
      expect(res.outputs[0]).toMatchObject({ name: 'probs', datatype: 'FP32', shape: [2, 3] });
      const probs = tensorView({ key: 'probs', data: res.rawOutputContents[0], tensor: { datatype: 'FP32', shape: [2, 3] } });
      expectClose(probs as Float32Array, classify(x, W));
    } finally {
      client.close();
    }
  });
});
