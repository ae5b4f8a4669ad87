/**
 * The Open Inference Protocol V2 over gRPC: a client made from proto/inference/grpc_service.proto
 * (package, messages and field numbers as upstream's) against real loaders on port 0.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { loadInferenceProto } from '../../proto/load.js';
import type { GRPCInferenceServiceClient } from '../../proto/gen/inference/GRPCInferenceService.js';
import { startLoader } from './http-helpers.js';
import { inferenceClient, v2Unary } from './grpc-helpers.js';
import { newSecret, writeKeysFile } from './auth-helpers.js';

let tensors: Loader;
let echo: Loader;
let clients: GRPCInferenceServiceClient[] = [];

function client(loader: Loader): GRPCInferenceServiceClient {
  const Client = loadInferenceProto().inference.GRPCInferenceService;
  const c = new Client(`127.0.0.1:${loader.grpcPort}`, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

/** Calls a unary method; resolves with the answer or the error. */
function unary<Res>(c: GRPCInferenceServiceClient, method: string, request: unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    (c as unknown as Record<string, (r: unknown, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>)[method]?.call(
      c,
      request,
      (err, value) => (err === null ? resolve(value) : reject(err)),
    );
  });
}

beforeAll(async () => {
  [tensors, echo] = await Promise.all([startLoader({ plugin: { path: 'test/fixtures/plugins/tensor-echo.ts' } }), startLoader()]);
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.close();
  clients = [];
  await Promise.all([tensors, echo].map((l) => l?.stop()));
});

const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);

/** The typed contents fields that hold elements (a decoded message lists every field). */
function filled(contents: Record<string, unknown[]> | null): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(contents ?? {}).filter(([, v]) => v.length > 0));
}

describe('inference.GRPCInferenceService', () => {
  it('server live, ready and metadata; model ready and metadata; an unknown model or version is NOT_FOUND', async () => {
    const c = client(tensors);
    expect(await unary(c, 'ServerLive', {})).toEqual({ live: true });
    expect(await unary(c, 'ServerReady', {})).toEqual({ ready: true });
    expect(await unary(c, 'ServerMetadata', {})).toMatchObject({
      name: 'aiges-ts',
      extensions: ['binary_tensor_data', 'statistics', 'model_configuration'],
    });
    expect(await unary(c, 'ModelReady', { name: 'tensor-echo', version: '3' })).toEqual({ ready: true });
    expect(await unary(c, 'ModelMetadata', { name: 'tensor-echo' })).toEqual({
      name: 'tensor-echo',
      versions: ['3'],
      platform: 'aiges-ts',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    });
    await expect(unary(c, 'ModelReady', { name: 'nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(unary(c, 'ModelMetadata', { name: 'tensor-echo', version: '2' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('ModelInfer with raw_input_contents: the plugin math through a typed-array view, raw_output_contents back', async () => {
    const res = await unary<any>(client(tensors), 'ModelInfer', {
      modelName: 'tensor-echo',
      id: 'g1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
      outputs: [{ name: 'y' }],
      rawInputContents: [f32(1.5, -2)],
    });
    expect(res).toMatchObject({ modelName: 'tensor-echo', modelVersion: '3', id: 'g1' });
    expect(res.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [1, 2], parameters: {}, contents: null }]);
    expect([...new Float32Array(new Uint8Array(res.rawOutputContents[0]).buffer)]).toEqual([3, -4]);
  });

  it('ModelInfer with typed contents of each kind: outputs come back typed, raw_output_contents empty', async () => {
    const inputs = [
      { name: 'b', datatype: 'BOOL', shape: [2], contents: { boolContents: [true, false] } },
      { name: 'i8', datatype: 'INT8', shape: [2], contents: { intContents: [-128, 127] } },
      { name: 'i', datatype: 'INT16', shape: [2], contents: { intContents: [-3, 300] } },
      { name: 'i32', datatype: 'INT32', shape: [1], contents: { intContents: [-2147483648] } },
      { name: 'l', datatype: 'INT64', shape: [1], contents: { int64Contents: [-5] } },
      { name: 'u', datatype: 'UINT8', shape: [1], contents: { uintContents: [200] } },
      { name: 'u16', datatype: 'UINT16', shape: [1], contents: { uintContents: [65535] } },
      { name: 'u32', datatype: 'UINT32', shape: [1], contents: { uintContents: [4294967295] } },
      { name: 'q', datatype: 'UINT64', shape: [1], contents: { uint64Contents: [7] } },
      { name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp32Contents: [1.5, -2] } },
      { name: 'f', datatype: 'FP64', shape: [1], contents: { fp64Contents: [0.5] } },
      { name: 's', datatype: 'BYTES', shape: [2], contents: { bytesContents: [Buffer.from('ab'), Buffer.alloc(0)] } },
    ];
    const res = await unary<any>(client(tensors), 'ModelInfer', { modelName: 'tensor-echo', inputs });
    expect(res.rawOutputContents).toEqual([]);
    // x comes back as y = x × 2; the others as they came, in the same typed field.
    const expected = inputs.map((i) => (i.name === 'x' ? { ...i, name: 'y', contents: { fp32Contents: [3, -4] } } : i));
    expect(res.outputs.map((o: any) => [o.name, o.datatype, o.shape, filled(o.contents)])).toEqual(
      expected.map((i) => [i.name, i.datatype, i.shape, i.contents]),
    );
  });

  it('ModelStatistics: the REST figures, of one model or of every one (empty name); versions as elsewhere', async () => {
    const c = client(tensors);
    const stats = async (name = 'tensor-echo') => (await unary<any>(c, 'ModelStatistics', { name })).modelStats;
    const [before] = await stats();
    const x = (datatype: string, contents: object) => [{ name: 'x', datatype, shape: [1, 2], contents }];
    await unary(c, 'ModelInfer', { modelName: 'tensor-echo', inputs: x('FP32', { fp32Contents: [1, 2] }) });
    await expect(unary(c, 'ModelInfer', { modelName: 'tensor-echo', inputs: x('INT32', { intContents: [1, 2] }) })).rejects.toThrow();
    const [after] = await stats();
    expect(after).toMatchObject({ name: 'tensor-echo', version: '3', executionCount: after.inferenceCount });
    // One more success (counted, timed) and one more failure; only the success reached an exec.
    const { success, fail, queue, computeInfer, computeInput } = after.inferenceStats;
    const was = before.inferenceStats;
    expect([after.inferenceCount, success.count, fail.count, queue.count, computeInfer.count]).toEqual([
      before.inferenceCount + 1,
      was.success.count + 1,
      was.fail.count + 1,
      was.queue.count + 1,
      was.computeInfer.count + 1,
    ]);
    expect([success.ns > was.success.ns, computeInfer.ns > was.computeInfer.ns, computeInput]).toEqual([true, true, null]);
    expect(after.lastInference).toBeGreaterThan(0);
    const rest = async (path: string): Promise<any> => (await fetch(`http://127.0.0.1:${tensors.httpPort}${path}`)).json();
    expect((await rest('/v2/models/tensor-echo/versions/3/stats')).model_stats).toEqual([
      {
        name: 'tensor-echo',
        version: '3',
        last_inference: after.lastInference,
        inference_count: after.inferenceCount,
        execution_count: after.executionCount,
        inference_stats: { success, fail, queue, compute_infer: computeInfer },
      },
    ]);
    expect((await stats('')).map((m: any) => m.name)).toEqual(['tensor-echo']);
    expect((await rest('/v2/models/stats')).model_stats.map((m: any) => m.name)).toEqual(['tensor-echo']);
    await expect(unary(c, 'ModelStatistics', { name: 'tensor-echo', version: '2' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(unary(c, 'ModelStatistics', { name: 'nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("ModelConfig: the schema's tensors in Triton's terms, no batching; an unknown model is NOT_FOUND", async () => {
    const TYPE_FP32 = 11;
    const TYPE_STRING = 13;
    expect(await unary(client(tensors), 'ModelConfig', { name: 'tensor-echo', version: '3' })).toEqual({
      config: {
        name: 'tensor-echo',
        platform: 'aiges-ts',
        backend: '',
        maxBatchSize: 0,
        input: [{ name: 'x', dataType: TYPE_FP32, dims: [-1, 2] }],
        output: [{ name: 'y', dataType: TYPE_FP32, dims: [-1, 2] }],
      },
    });
    const echoed = await unary<any>(client(echo), 'ModelConfig', { name: 'echo' });
    expect(echoed.config.input).toEqual(['text', 'audio', 'data'].map((name) => ({ name, dataType: TYPE_STRING, dims: [1] })));
    await expect(unary(client(echo), 'ModelConfig', { name: 'nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('refuses what does not fit with INVALID_ARGUMENT and aiges-code', async () => {
    const c = client(tensors);
    const refused = async (request: unknown, message: RegExp) => {
      const err = (await unary(c, 'ModelInfer', request).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
      expect(err.metadata.get('aiges-code')[0]).toMatch(/^10/);
    };
    await refused(
      { modelName: 'tensor-echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }], rawInputContents: [f32(1)] },
      /needs 8 bytes, got 4/,
    );
    await refused(
      { modelName: 'tensor-echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }], rawInputContents: [f32(1, 2), f32(3)] },
      /2 tensors for 1 inputs/,
    );
    await refused(
      { modelName: 'tensor-echo', inputs: [{ name: 'v', datatype: 'INT32', shape: [2], contents: { intContents: [1] } }] },
      /needs 2 elements/,
    );
    await refused({ modelName: 'tensor-echo', inputs: [{ name: 'v', datatype: 'FP16', shape: [1] }] }, /only as raw contents/);
    await refused(
      { modelName: 'tensor-echo', inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 2], contents: { intContents: [1, 2] } }] },
      /must be a FP32 tensor/,
    );
  });
});

describe('with [auth] mode = "aksk"', () => {
  it('every V2 method takes signed calls only', async () => {
    const signed = await startLoader({ auth: { mode: 'aksk', keys_file: writeKeysFile([{ access_key: 'a', secret_key: newSecret() }]) } });
    try {
      const c = client(signed);
      for (const [method, request] of [
        ['ServerLive', {}],
        ['ModelMetadata', { name: 'echo' }],
        [
          'ModelInfer',
          { modelName: 'echo', inputs: [{ name: 'data', datatype: 'BYTES', shape: [1], contents: { bytesContents: [Buffer.from('x')] } }] },
        ],
      ] as const) {
        await expect(unary(c, method, request)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      }
    } finally {
      await signed.stop();
    }
  });
  it("takes the caller a balancer's key names in aiges-caller, on V2 methods as on aiges.v1", async () => {
    const alice = { access_key: 'alice', secret_key: newSecret(), services: ['echo'] };
    const bob = { access_key: 'bob', secret_key: newSecret(), services: ['other'] };
    const lb = { access_key: 'lb1', secret_key: newSecret(), relay: true };
    const loader = await startLoader({ auth: { mode: 'aksk', keys_file: writeKeysFile([alice, bob, lb]) } });
    const address = `127.0.0.1:${loader.grpcPort}`;
    const signedBy = (k: typeof lb | typeof bob) => {
      const c = inferenceClient(address, { accessKey: k.access_key, secretKey: k.secret_key });
      clients.push(c);
      return c;
    };
    const naming = (caller: string) => {
      const md = new grpc.Metadata();
      md.set('aiges-caller', caller);
      return md;
    };
    const request = {
      modelName: 'echo',
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], contents: { bytesContents: [Buffer.from('x')] } }],
    };
    try {
      const res = await v2Unary<{ modelName: string }>(signedBy(lb), 'ModelInfer', request, naming('alice'));
      expect(res.modelName).toBe('echo');
      expect(await v2Unary(signedBy(lb), 'ModelReady', { name: 'echo' }, naming('alice'))).toEqual({ ready: true });
      // Both counted as alice's calls.
      const [, counts] = [...loader.metrics.auth.entries()].find(([key]) => key === 'alice') ?? [];
      expect(counts?.get('ok')).toBe(2);
      // The named caller's services hold; only a balancer's key may name one; a balancer's key names someone.
      await expect(v2Unary(signedBy(lb), 'ModelInfer', request, naming('bob'))).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
      });
      await expect(v2Unary(signedBy(bob), 'ModelInfer', request, naming('alice'))).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: expect.stringMatching(/may not relay calls of other keys/),
      });
      await expect(v2Unary(signedBy(lb), 'ModelMetadata', { name: 'echo' })).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: expect.stringMatching(/names no caller/),
      });
      // Every model's statistics: those the caller may call, none for a key of other services.
      const all = (k: typeof lb | typeof bob, md?: grpc.Metadata) => v2Unary<any>(signedBy(k), 'ModelStatistics', {}, md);
      expect((await all(lb, naming('alice'))).modelStats.map((m: any) => m.name)).toEqual(['echo']);
      expect(await all(bob)).toEqual({ modelStats: [] });
    } finally {
      await loader.stop();
    }
  });
});
