/**
 * The model repository in a real loader (port 0, real onnxruntime sessions, real files): models
 * load at start beside a plugin, a failing model is reported while the others serve, version
 * policies pick what serves, the repository API (REST and gRPC) loads, reloads and unloads at
 * run time, a poll follows the folder, and each model is its own service in polaris.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { MemoryPolaris } from '../../polaris/store/polaris-memory.js';
import { MemoryStore } from '../../polaris/store/store-memory.js';
import { tensorData } from '../../plugins/tensor.js';
import { DataType, type OutputItem } from '../../plugins/types.js';
import { RepositorySection } from '../../loader/config/schema.js';
import { readModelConfig } from '../../loader/models/model-config.js';
import { cudaProviderLibrary, type OnnxState, onnxWrapper } from '../../loader/models/onnx-wrapper.js';
import { classifierModel, classify, identityModel, scaleModel, writeModel } from '../lib/onnx-models.js';
import { startTestLoader, type TestLoader } from '../polaris/helpers.js';
import { inferenceClient, v2Unary } from '../server/grpc-helpers.js';
import { textBody, url } from '../server/http-helpers.js';
import { ROOT } from '../cli/serve-process.js';

const W = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5, 0.5, 0.5];
const running: TestLoader[] = [];
const dirs: string[] = [];

function repository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aiges-models-'));
  dirs.push(dir);
  return dir;
}

async function start(repo: string, overrides: Record<string, Record<string, unknown>> = {}, polaris?: MemoryPolaris): Promise<TestLoader> {
  const t = await startTestLoader(
    { plugin: { path: undefined }, log: { level: 'info' }, repository: { path: repo }, ...overrides },
    polaris === undefined ? {} : { polaris },
  );
  running.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.loader.stop()));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function post(loader: Loader, path: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url(loader, path), {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, body: await res.json() };
}

/** Infers x [1, 2] with a scale model (y = x · k); resolves with the status and y. */
async function scale(loader: Loader, model: string, version?: string): Promise<{ status: number; y?: number[]; version?: string }> {
  const path = version === undefined ? `/v2/models/${model}/infer` : `/v2/models/${model}/versions/${version}/infer`;
  const res = await post(loader, path, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, -2] }] });
  return res.status === 200 ? { status: 200, y: res.body.outputs[0].data, version: res.body.model_version } : { status: res.status };
}

describe('a repository served beside a plugin', () => {
  let t: TestLoader;
  let repo: string;

  beforeAll(() => {
    repo = repository();
    writeModel(repo, 'iris', 1, classifierModel(W));
    for (const k of [1, 2, 3]) writeModel(repo, 'scale', k, scaleModel(k), 'version_policy = { latest = 2 }\n');
    writeModel(repo, 'broken', 1, new TextEncoder().encode('not onnx'));
    writeModel(repo, 'misconfigured', 1, scaleModel(1), 'max_batch = 2\n');
    writeModel(repo, 'mixed', 1, identityModel('int32'));
    writeModel(repo, 'mixed', 2, scaleModel(2), 'version_policy = { all = true }\n');
  });

  it('serves the good models and the plugin; the failing ones are in the index with their reason', async () => {
    t = await start(repo, { plugin: { path: 'demo/echo' } });
    const { loader } = t;
    const index = await post(loader, '/v2/repository/index');
    expect(index.status).toBe(200);
    expect(index.body).toEqual([
      {
        name: 'broken',
        version: '',
        state: 'UNAVAILABLE',
        reason: expect.stringContaining(`cannot load ${join(repo, 'broken/1/model.onnx')}`),
      },
      { name: 'iris', version: '1', state: 'READY', reason: '' },
      {
        name: 'misconfigured',
        version: '',
        state: 'UNAVAILABLE',
        reason: `${join(repo, 'misconfigured/config.toml')}: unknown key "max_batch"`,
      },
      { name: 'mixed', version: '1', state: 'READY', reason: '' },
      { name: 'mixed', version: '2', state: 'READY', reason: '' },
      { name: 'scale', version: '2', state: 'READY', reason: '' },
      { name: 'scale', version: '3', state: 'READY', reason: '' },
    ]);
    expect((await post(loader, '/v2/repository/index', { ready: true })).body.map((e: { name: string }) => e.name)).toEqual([
      'iris',
      'mixed',
      'mixed',
      'scale',
      'scale',
    ]);
    expect(await t.waitForLog('model failed to load', { model: 'broken' })).toBeDefined();
    const meta: any = await (await fetch(url(loader, '/v2'))).json();
    expect(meta.extensions).toContain('model_repository');

    // The models answer on every protocol; the plugin too.
    const x = [5, 1, 2, 0.5];
    const iris = await post(loader, '/v2/models/iris/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }] });
    expect(iris.status).toBe(200);
    const expected = classify(x, W);
    for (let i = 0; i < 3; i++) expect(iris.body.outputs[0].data[i]).toBeCloseTo(expected[i] as number, 5);
    const echo = await post(loader, '/v1/private/echo', textBody('hi'));
    expect(echo.status).toBe(200);
    expect((await fetch(url(loader, '/v2/models/broken'))).status).toBe(404);
    expect((await fetch(url(loader, '/v2/health/ready'))).status).toBe(200);
  });

  it('versions: the latest by default, another by /versions/{v}; one the policy left out is 404', async () => {
    t = await start(repo);
    const { loader } = t;
    expect(await scale(loader, 'scale')).toEqual({ status: 200, y: [3, -6], version: '3' });
    expect(await scale(loader, 'scale', '2')).toEqual({ status: 200, y: [2, -4], version: '2' });
    expect(await scale(loader, 'scale', '1')).toEqual({ status: 404 });
    const meta = await (await fetch(url(loader, '/v2/models/scale'))).json();
    expect(meta).toMatchObject({ name: 'scale', versions: ['2', '3'], inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }] });

    const client = inferenceClient(`127.0.0.1:${loader.grpcPort}`);
    try {
      const res = await v2Unary<any>(client, 'ModelInfer', {
        modelName: 'scale',
        modelVersion: '2',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
        rawInputContents: [tensorData(new Float32Array([1, 1]))],
      });
      expect(res.modelVersion).toBe('2');
      expect([...new Float32Array(new Uint8Array(res.rawOutputContents[0]).buffer)]).toEqual([2, 2]);
    } finally {
      client.close();
    }
  });

  it('versions whose tensors differ: each has its own metadata and config, and requests are checked against their version', async () => {
    t = await start(repo);
    const { loader } = t;
    const json = async (path: string) => (await fetch(url(loader, path))).json();
    // mixed: version 1 is y = x over INT32 [N], version 2 (the latest) y = 2x over FP32 [N, 2].
    const int32 = { inputs: [{ name: 'x', datatype: 'INT32', shape: [-1] }], outputs: [{ name: 'y', datatype: 'INT32', shape: [-1] }] };
    const fp32 = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] };
    expect(await json('/v2/models/mixed/versions/1')).toMatchObject({ name: 'mixed', versions: ['1', '2'], ...int32 });
    expect(await json('/v2/models/mixed')).toMatchObject({ name: 'mixed', versions: ['1', '2'], ...fp32 });
    expect(await json('/v2/models/mixed/versions/2')).toMatchObject(fp32);
    expect(await json('/v2/models/mixed/versions/1/config')).toMatchObject({
      input: [{ name: 'x', data_type: 'TYPE_INT32', dims: [-1] }],
      output: [{ name: 'y', data_type: 'TYPE_INT32', dims: [-1] }],
    });

    const v1 = await post(loader, '/v2/models/mixed/versions/1/infer', {
      inputs: [{ name: 'x', datatype: 'INT32', shape: [3], data: [4, -5, 6] }],
    });
    expect(v1).toEqual({
      status: 200,
      body: expect.objectContaining({ model_version: '1', outputs: [{ name: 'y', datatype: 'INT32', shape: [3], data: [4, -5, 6] }] }),
    });
    expect(await scale(loader, 'mixed')).toEqual({ status: 200, y: [2, -4], version: '2' });
    // Each version's own tensors, not the other's.
    const wrong1 = await post(loader, '/v2/models/mixed/versions/1/infer', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
    });
    expect(wrong1.status).toBe(400);
    expect(wrong1.body.error).toContain('INT32');
    const wrong2 = await post(loader, '/v2/models/mixed/versions/2/infer', {
      inputs: [{ name: 'x', datatype: 'INT32', shape: [2], data: [1, 2] }],
    });
    expect(wrong2.status).toBe(400);
    expect(wrong2.body.error).toContain('FP32');

    const client = inferenceClient(`127.0.0.1:${loader.grpcPort}`);
    try {
      const meta = await v2Unary<any>(client, 'ModelMetadata', { name: 'mixed', version: '1' });
      expect(meta.inputs).toEqual([{ name: 'x', datatype: 'INT32', shape: [-1] }]);
      const res = await v2Unary<any>(client, 'ModelInfer', {
        modelName: 'mixed',
        modelVersion: '1',
        inputs: [{ name: 'x', datatype: 'INT32', shape: [2] }],
        rawInputContents: [tensorData(new Int32Array([7, -8]))],
      });
      expect(res.modelVersion).toBe('1');
      expect(res.outputs).toEqual([expect.objectContaining({ name: 'y', datatype: 'INT32', shape: [2] })]);
      expect([...new Int32Array(new Uint8Array(res.rawOutputContents[0]).buffer)]).toEqual([7, -8]);
    } finally {
      client.close();
    }

    // Versions that differ in shape only: version 1 takes [N, 3], version 2 [N, 2].
    const widths = repository();
    writeModel(widths, 'widths', 1, scaleModel(1, 3));
    writeModel(widths, 'widths', 2, scaleModel(2, 2), 'version_policy = { all = true }\n');
    const w = (await start(widths)).loader;
    expect(await (await fetch(url(w, '/v2/models/widths/versions/1'))).json()).toMatchObject({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
    });
    const three = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
    expect((await post(w, '/v2/models/widths/versions/1/infer', three)).body.outputs[0].data).toEqual([1, 2, 3]);
    expect((await post(w, '/v2/models/widths/infer', three)).status).toBe(400);
    expect(await scale(w, 'widths', '1')).toEqual({ status: 400 });
    expect(await scale(w, 'widths')).toEqual({ status: 200, y: [2, -4], version: '2' });
  });

  it('load, reload and unload through REST and gRPC; a failed reload keeps the loaded versions serving', async () => {
    const own = repository();
    writeModel(own, 'm', 1, scaleModel(1));
    t = await start(own);
    const { loader } = t;
    expect(await scale(loader, 'm')).toMatchObject({ y: [1, -2] });

    // Unload (REST): the service goes; the index says so.
    expect(await post(loader, '/v2/repository/models/m/unload')).toEqual({ status: 200, body: {} });
    expect(await scale(loader, 'm')).toEqual({ status: 404 });
    expect((await post(loader, '/v2/repository/index')).body).toEqual([
      { name: 'm', version: '', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);

    // Load (gRPC) a new version: it serves.
    writeModel(own, 'm', 2, scaleModel(2));
    const client = inferenceClient(`127.0.0.1:${loader.grpcPort}`);
    try {
      expect(await v2Unary(client, 'RepositoryModelLoad', { modelName: 'm' })).toEqual({});
      expect(await scale(loader, 'm')).toEqual({ status: 200, y: [2, -4], version: '2' });
      expect(await v2Unary(client, 'RepositoryIndex', {})).toEqual({ models: [{ name: 'm', version: '2', state: 'READY', reason: '' }] });

      // Reload (REST) with a new version 3: switched with no gap.
      writeModel(own, 'm', 3, scaleModel(3));
      expect((await post(loader, '/v2/repository/models/m/load')).status).toBe(200);
      expect(await scale(loader, 'm')).toEqual({ status: 200, y: [3, -6], version: '3' });

      // A reload that fails: the error comes back, version 3 serves on.
      writeFileSync(join(own, 'm', 'config.toml'), 'instance_count = "two"\n');
      const failed = await post(loader, '/v2/repository/models/m/load');
      expect(failed.status).toBe(500);
      expect(failed.body.error).toContain('key "instance_count"');
      expect(await scale(loader, 'm')).toMatchObject({ status: 200, y: [3, -6] });
      const [entry] = (await post(loader, '/v2/repository/index')).body;
      expect(entry).toMatchObject({ name: 'm', version: '3', state: 'READY', reason: expect.stringContaining('reload failed') });

      // Unload (gRPC); unknown models are NOT_FOUND.
      expect(await v2Unary(client, 'RepositoryModelUnload', { modelName: 'm' })).toEqual({});
      expect(await scale(loader, 'm')).toEqual({ status: 404 });
      await expect(v2Unary(client, 'RepositoryModelLoad', { modelName: 'nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      expect((await post(loader, '/v2/repository/models/nope/unload')).status).toBe(404);
    } finally {
      client.close();
    }
  });

  it('an unload answers once the calls running on the model are done; new calls are 404 at once', async () => {
    const own = repository();
    writeModel(own, 'd', 1, scaleModel(1));
    t = await start(own);
    const { loader } = t;
    // A call in flight on the model's set (what the data plane holds while a call runs).
    const set = loader.registry.get('d');
    set.enter();
    let unloaded = false;
    const unloading = post(loader, '/v2/repository/models/d/unload').then((res) => {
      unloaded = true;
      return res;
    });
    await vi.waitFor(async () => expect(await scale(loader, 'd')).toEqual({ status: 404 }));
    expect((await post(loader, '/v2/repository/index')).body[0]).toMatchObject({ name: 'd', state: 'UNLOADING' });
    expect(unloaded).toBe(false);
    set.leave();
    expect(await unloading).toEqual({ status: 200, body: {} });
    expect((await post(loader, '/v2/repository/index')).body[0]).toMatchObject({ name: 'd', state: 'UNAVAILABLE', reason: 'unloaded' });
  });

  it('a loader without a repository answers the repository API with 10003', async () => {
    const t2 = await startTestLoader({ plugin: { path: 'demo/echo' }, log: { level: 'silent' } });
    running.push(t2);
    const res = await post(t2.loader, '/v2/repository/index');
    expect(res.status).toBe(400);
    expect(res.body.error).toContain('serves no model repository');
  });
});

describe('config.toml in a served model', () => {
  it('max_batch_size and dims shape the declared tensors; a batch over the max is refused (400); instance_count sessions serve together', async () => {
    const repo = repository();
    writeModel(
      repo,
      'b',
      1,
      scaleModel(2),
      'max_batch_size = 2\ninstance_count = 2\n[[inputs]]\nname = "x"\ndims = [2]\n[[outputs]]\nname = "y"\ndatatype = "FP32"\n',
    );
    writeModel(repo, 'wrong', 1, scaleModel(2), '[[inputs]]\nname = "z"\n');
    const { loader } = await start(repo);
    const meta: any = await (await fetch(url(loader, '/v2/models/b'))).json();
    expect(meta.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
    const batch = (n: number) =>
      post(loader, '/v2/models/b/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [n, 2], data: Array(n * 2).fill(1) }] });
    const answers = await Promise.all([batch(2), batch(1), batch(2), batch(1)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers[0]?.body.outputs[0].data).toEqual([2, 2, 2, 2]);
    const over = await batch(3);
    expect(over.status).toBe(400);
    expect(over.body.error).toContain('batch of 3 is over max_batch_size 2');
    const [wrong] = (await post(loader, '/v2/repository/index')).body.filter((e: { name: string }) => e.name === 'wrong');
    expect(wrong.reason).toContain('config.toml lists inputs, but not the model\'s "x"');
  });
  it('dynamic_batching: concurrent calls run merged (fewer executions than inferences), each answered with its own rows', async () => {
    const repo = repository();
    // A queue delay far longer than the test: only full batches (4 rows) run.
    writeModel(repo, 'batched', 1, scaleModel(3), 'max_batch_size = 4\n[dynamic_batching]\nmax_queue_delay_ms = 600000\n');
    writeModel(repo, 'bad', 1, scaleModel(3), 'max_batch_size = 1\n[dynamic_batching]\n');
    const { loader } = await start(repo);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post(loader, '/v2/models/batched/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [i, i + 1] }] }),
      ),
    );
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      expect(a.body.outputs[0]).toMatchObject({ shape: [1, 2], data: [3 * i, 3 * (i + 1)] });
    }
    const stats: any = await (await fetch(url(loader, '/v2/models/batched/stats'))).json();
    expect(stats.model_stats[0]).toMatchObject({ inference_count: 8, execution_count: 2 });
    const config: any = await (await fetch(url(loader, '/v2/models/batched/config'))).json();
    expect(config.max_batch_size).toBe(4);
    const [bad] = (await post(loader, '/v2/repository/index')).body.filter((e: { name: string }) => e.name === 'bad');
    expect(bad.reason).toContain('dynamic_batching needs max_batch_size of 2 or more');
  });
});

describe('execution providers', () => {
  it('"auto" (the default): CUDA when its parts are installed, else the CPU; parts that cannot start leave the CPU serving', async () => {
    const repo = repository();
    writeModel(repo, 'g', 1, scaleModel(2));
    const t = await start(repo);
    const cudaParts = existsSync(cudaProviderLibrary());
    const loaded = await t.waitForLog('model loaded', { model: 'g' });
    // npm ci here never runs onnxruntime-node's install script: no CUDA parts, so the CPU.
    if (!cudaParts) expect(loaded['description']).toBe('ONNX model g (versions 1) on cpu');
    else expect(loaded['description']).toMatch(/^ONNX model g \(versions 1\) on (cuda, cpu$|cpu \(CUDA parts installed)/);
    expect(await scale(t.loader, 'g')).toMatchObject({ y: [2, -4] });

    // Parts said to be there: where CUDA cannot start (here: no parts, no GPU), the CPU serves.
    const w = await onnxWrapper({
      id: 'f',
      versions: [{ version: '1', file: join(repo, 'g/1/model.onnx') }],
      config: readModelConfig(join(repo, 'g')),
      providers: ['auto'],
      cudaPresent: () => true,
    });
    if (!cudaParts) {
      expect(w.description).toMatch(
        /^ONNX model f \(versions 1\) on cpu \(CUDA parts installed, but the CUDA provider did not start: .+\)$/,
      );
    }
    const state = (await w.init?.({}, {} as never)) as OnnxState;
    try {
      const x = {
        key: 'x',
        data: tensorData(new Float32Array([1, -2])),
        type: DataType.OTHER,
        tensor: { datatype: 'FP32', shape: [1, 2] },
      };
      const out = (await w.exec?.({ service: 'f', params: {}, headers: {}, items: [x as never] }, { state } as never)) as OutputItem[];
      expect([...new Float32Array(new Uint8Array(out[0]?.data as Buffer).buffer)]).toEqual([2, -4]);
    } finally {
      await w.fini?.(state);
    }

    const mixed = RepositorySection.safeParse({ path: repo, execution_providers: ['auto', 'cpu'] });
    expect(mixed.success).toBe(false);
    expect(mixed.error?.issues[0]?.message).toBe('"auto" stands alone');
  });

  it('"cuda": served when onnxruntime-node has its CUDA parts (and a GPU), else the model fails to load saying what is missing', async () => {
    const repo = repository();
    writeModel(repo, 'g', 1, scaleModel(2));
    writeModel(repo, 'c', 1, scaleModel(3));
    const { loader } = await start(repo, { repository: { path: repo, execution_providers: ['cuda'] } });
    const bin = join(ROOT, 'node_modules/onnxruntime-node/bin');
    const cudaParts = readdirSync(bin).some((napi) => existsSync(join(bin, napi, 'linux/x64/libonnxruntime_providers_cuda.so')));
    const index = (await post(loader, '/v2/repository/index')).body;
    if (cudaParts && index[0].state === 'READY') {
      expect(await scale(loader, 'g')).toMatchObject({ y: [2, -4] });
    } else {
      // npm ci here never runs onnxruntime-node's install script: no CUDA parts, so this branch.
      for (const entry of index) {
        expect(entry).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringContaining('cannot create the CUDA execution provider') });
        expect(entry.reason).toContain('libonnxruntime_providers_cuda.so');
      }
      expect(await scale(loader, 'g')).toEqual({ status: 404 });
    }
  });
});

describe('poll', () => {
  it('a new model folder is loaded, a changed one reloaded, a removed one unloaded', async () => {
    const repo = repository();
    const { loader } = await start(repo, { repository: { path: repo, poll_interval_ms: 50 } });
    expect(await scale(loader, 'p')).toEqual({ status: 404 });
    writeModel(repo, 'p', 1, scaleModel(5));
    await vi.waitFor(async () => expect(await scale(loader, 'p')).toMatchObject({ y: [5, -10] }), { timeout: 10_000 });
    writeModel(repo, 'p', 2, scaleModel(6));
    await vi.waitFor(async () => expect(await scale(loader, 'p')).toMatchObject({ y: [6, -12] }), { timeout: 10_000 });
    rmSync(join(repo, 'p'), { recursive: true });
    await vi.waitFor(async () => expect(await scale(loader, 'p')).toEqual({ status: 404 }), { timeout: 10_000 });
    await vi.waitFor(async () => expect((await post(loader, '/v2/repository/index')).body).toEqual([]), { timeout: 10_000 });
  });
});

describe('polaris', () => {
  it('each model is a service of its own, registered once ready and deregistered on unload and at stop', async () => {
    const repo = repository();
    writeModel(repo, 'a', 1, scaleModel(1));
    writeModel(repo, 'b', 1, scaleModel(2));
    const polaris = new MemoryPolaris(new MemoryStore());
    const { loader } = await start(repo, { polaris: { endpoints: 'http://127.0.0.1:1' } }, polaris);
    for (const service of ['a', 'b']) {
      await vi.waitFor(async () =>
        expect(await polaris.discovery.list(service)).toEqual([
          expect.objectContaining({ id: loader.instanceId, service, address: `127.0.0.1:${loader.grpcPort}` }),
        ]),
      );
    }
    expect((await post(loader, '/v2/repository/models/a/unload')).status).toBe(200);
    expect(await polaris.discovery.list('a')).toEqual([]);
    expect(await polaris.discovery.list('b')).toEqual([expect.objectContaining({ id: loader.instanceId, service: 'b' })]);
    expect((await post(loader, '/v2/repository/models/a/load')).status).toBe(200);
    await vi.waitFor(async () => expect(await polaris.discovery.list('a')).toHaveLength(1));
    await loader.stop();
    expect(await polaris.discovery.list('a')).toEqual([]);
    expect(await polaris.discovery.list('b')).toEqual([]);
  });
});
