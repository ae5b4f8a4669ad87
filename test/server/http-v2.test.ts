/**
 * The Open Inference Protocol V2 over REST: real loaders on port 0 called with fetch — a tensor
 * model (fixtures tensor-echo, tensor-scale), demo/echo and demo/native-echo (AIGes wrappers that
 * know nothing of V2), and echo with AK/SK on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { newSecret, signHeaders, type TestKey, writeKeysFile } from './auth-helpers.js';
import { startLoader, url } from './http-helpers.js';

interface V2Response {
  status: number;
  headers: Headers;
  /** The JSON part (the whole body, or the header of a binary answer). */
  body: any;
  text: string;
  /** The bytes after the JSON header of a binary answer. */
  binary: Buffer;
}

async function v2(loader: Loader, path: string, init: RequestInit = {}): Promise<V2Response> {
  const res = await fetch(url(loader, path), init);
  const all = Buffer.from(await res.arrayBuffer());
  const headerLength = res.headers.get('inference-header-content-length');
  const n = headerLength === null ? all.length : Number(headerLength);
  const text = all.subarray(0, n).toString('utf8');
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text), text, binary: all.subarray(n) };
}

const post = (loader: Loader, model: string, body: unknown) =>
  v2(loader, `/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A binary request: the JSON header, then the raw tensors. */
function binaryBody(header: unknown, ...raw: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([json, ...raw]),
    headers: { 'inference-header-content-length': String(json.length), 'content-type': 'application/octet-stream' },
  };
}

const postBinary = (loader: Loader, model: string, header: unknown, ...raw: Buffer[]) => {
  const { body, headers } = binaryBody(header, ...raw);
  return v2(loader, `/v2/models/${model}/infer`, { method: 'POST', headers, body });
};

function expectV2Error(res: V2Response, status: number, message: RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error).toMatch(message);
  expect(res.headers.get('aiges-code')).toMatch(/^[0-9]+$/);
}

const raw = (a: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const bytesRaw = (...elements: (string | Buffer)[]) =>
  Buffer.concat(
    elements.flatMap((e) => {
      const b = Buffer.from(e);
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b.length);
      return [n, b];
    }),
  );

let tensors: Loader;
let scale: Loader;
let echo: Loader;
let native: Loader;

beforeAll(async () => {
  [tensors, scale, echo] = await Promise.all([
    startLoader({ plugin: { path: 'test/fixtures/plugins/tensor-echo.ts' } }),
    startLoader({ plugin: { path: 'test/fixtures/plugins/tensor-scale.ts' } }),
    startLoader(),
  ]);
  native = new Loader(
    loadConfig({
      file: 'demo/native-echo/aiges.toml',
      overrides: { server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 }, log: { level: 'silent' } },
    }),
    { defaultMetrics: false },
  );
  await native.start();
}, 30_000);

afterAll(async () => {
  await Promise.all([tensors, scale, echo, native].map((l) => l?.stop()));
});

describe('server and model metadata, readiness', () => {
  it('GET /v2 names the server, its version and extensions; health stays as it was', async () => {
    const res = await v2(echo, '/v2');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'aiges-ts',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      extensions: ['binary_tensor_data', 'statistics', 'model_configuration'],
    });
    expect((await v2(echo, '/v2/health/live')).status).toBe(200);
    expect((await v2(echo, '/v2/health/ready')).status).toBe(200);
  });

  it('a plugin with a tensor schema lists its declared tensors (the wildcard names none)', async () => {
    const res = await v2(tensors, '/v2/models/tensor-echo');
    expect(res.body).toEqual({
      name: 'tensor-echo',
      versions: ['3'],
      platform: 'aiges-ts',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    });
    expect((await v2(tensors, '/v2/models/tensor-echo/versions/3')).body).toEqual(res.body);
  });

  it('an AIGes-style plugin lists its keys as BYTES tensors of one element', async () => {
    const res = await v2(echo, '/v2/models/echo');
    expect(res.body).toEqual({
      name: 'echo',
      versions: ['1.0.0'],
      platform: 'aiges-ts',
      inputs: ['text', 'audio', 'data'].map((name) => ({ name, datatype: 'BYTES', shape: [1] })),
      outputs: ['text', 'audio', 'data'].map((name) => ({ name, datatype: 'BYTES', shape: [1] })),
    });
    // No version declared: "1".
    expect((await v2(scale, '/v2/models/tensor-scale')).body.versions).toEqual(['1']);
  });

  it('model ready: 200 for a served model and version, 404 {error} for another model or version', async () => {
    expect(await v2(echo, '/v2/models/echo/ready')).toMatchObject({ status: 200, body: { name: 'echo', ready: true } });
    expect((await v2(echo, '/v2/models/echo/versions/1.0.0/ready')).status).toBe(200);
    expectV2Error(await v2(echo, '/v2/models/nope/ready'), 404, /unknown service "nope"/);
    expectV2Error(await v2(echo, '/v2/models/echo/versions/2/ready'), 404, /no version "2"/);
    expectV2Error(await v2(echo, '/v2/models/echo/versions/2'), 404, /no version "2"/);
    expectV2Error(await post(echo, 'nope', { inputs: [] }), 404, /unknown service/);
    expectV2Error(await v2(echo, '/v2/no/such/route'), 404, /no route/);
  });
});

describe('infer, JSON', () => {
  it('answers a request in the spec example shape: id echoed, requested outputs only, typed-array plugin math', async () => {
    const res = await post(tensors, 'tensor-echo', {
      id: '42',
      inputs: [
        { name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'flags', shape: [3], datatype: 'BOOL', data: [true, false, true] },
      ],
      outputs: [{ name: 'y' }],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      model_name: 'tensor-echo',
      model_version: '3',
      id: '42',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 2], data: [2, 4, 6, 8] }],
    });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('without an id, the answer carries the call sid; a V2 model call is versioned in the URL too', async () => {
    const res = await post(scale, 'tensor-scale/versions/1', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1.5] }] });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [1], data: [15] }]);
  });

  // Every datatype JSON can carry, through the wildcard input of tensor-echo (returned as it came).
  const jsonCases: [string, number[], unknown[]][] = [
    ['BOOL', [2, 2], [true, false, false, true]],
    ['UINT8', [3], [0, 128, 255]],
    ['UINT16', [3], [0, 1, 65535]],
    ['UINT32', [2], [0, 4294967295]],
    ['INT8', [3], [-128, 0, 127]],
    ['INT16', [2], [-32768, 32767]],
    ['INT32', [2], [-2147483648, 2147483647]],
    ['INT64', [2], [-9007199254740991, 9007199254740991]],
    ['UINT64', [1], [9007199254740991]],
    ['FP32', [2], [1.5, -0.25]],
    ['FP64', [3], [0.1, -1e300, 5e-324]],
    ['BYTES', [3], ['hello', '', 'ünïcode ✓']],
  ];
  it.each(jsonCases)('%s round-trips through JSON, flat and nested alike', async (datatype, shape, data) => {
    const nested = shape.length === 2 ? [data.slice(0, 2), data.slice(2)] : data;
    for (const sent of [data, nested]) {
      const res = await post(tensors, 'tensor-echo', { inputs: [{ name: 'v', datatype, shape, data: sent }] });
      expect(res.status, res.text).toBe(200);
      expect(res.body.outputs).toEqual([{ name: 'v', datatype, shape, data }]);
    }
  });

  it('INT64 and UINT64 past 2^53: sent as digit strings, answered as exact JSON number text', async () => {
    const res = await post(tensors, 'tensor-echo', {
      inputs: [
        { name: 'i', datatype: 'INT64', shape: [2], data: ['-9223372036854775808', '9223372036854775807'] },
        { name: 'u', datatype: 'UINT64', shape: [1], data: ['18446744073709551615'] },
      ],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain('"data":[-9223372036854775808,9223372036854775807]');
    expect(res.text).toContain('"data":[18446744073709551615]');
  });

  it('refuses what does not fit: 400 with {"error"}', async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3] }, /shape \[2,2\] needs 4 elements, data has 3/],
      [{ name: 'v', datatype: 'UINT8', shape: [1], data: [256] }, /UINT8 element 256 is not an integer in range/],
      [{ name: 'v', datatype: 'INT32', shape: [1], data: [1.5] }, /not an integer/],
      [{ name: 'v', datatype: 'BOOL', shape: [1], data: [1] }, /must be true or false/],
      [{ name: 'v', datatype: 'BYTES', shape: [1], data: [3] }, /must be a string/],
      [{ name: 'v', datatype: 'FP16', shape: [1], data: [1] }, /only as binary data/],
      [{ name: 'v', datatype: 'FP8', shape: [1], data: [1] }, /datatype "FP8" is not one of/],
      [{ name: 'v', datatype: 'FP32', shape: [-1], data: [1] }, /shape must be a list of non-negative integers/],
      [{ name: 'v', datatype: 'FP32', shape: [1] }, /has no data/],
      // The declared tensor x: the data plane's schema check.
      [{ name: 'x', datatype: 'INT32', shape: [1, 2], data: [1, 2] }, /input "x" must be a FP32 tensor, got "INT32"/],
      [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }, /input "x" must have shape \[-1,2\], got \[1,3\]/],
    ];
    for (const [input, message] of cases) expectV2Error(await post(tensors, 'tensor-echo', { inputs: [input] }), 400, message);
    expectV2Error(await post(tensors, 'tensor-echo', { inputs: [] }), 400, /inputs must be a non-empty list/);
    expectV2Error(
      await post(scale, 'tensor-scale', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], outputs: [{ name: 'z' }] }),
      400,
      /has no output "z"/,
    );
    expectV2Error(
      await post(scale, 'tensor-scale', { inputs: [{ name: 'q', datatype: 'FP32', shape: [1], data: [1] }] }),
      400,
      /unknown input key "q"/,
    );
    const body = await v2(scale, '/v2/models/tensor-scale/infer', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs":',
    });
    expectV2Error(body, 400, /not valid JSON/);
  });
});

describe('infer, binary tensor data', () => {
  // Every datatype as raw bytes, FP16 and BF16 included.
  const binaryCases: [string, number[], Buffer][] = [
    ['BOOL', [3], Buffer.from([1, 0, 1])],
    ['UINT8', [2], Buffer.from([7, 255])],
    ['UINT16', [2], raw(new Uint16Array([1, 65535]))],
    ['UINT32', [1], raw(new Uint32Array([4294967295]))],
    ['UINT64', [1], raw(new BigUint64Array([18446744073709551615n]))],
    ['INT8', [2], raw(new Int8Array([-128, 127]))],
    ['INT16', [1], raw(new Int16Array([-32768]))],
    ['INT32', [2], raw(new Int32Array([-1, 1]))],
    ['INT64', [1], raw(new BigInt64Array([-9223372036854775808n]))],
    ['FP16', [2], raw(new Uint16Array([0x3c00, 0xc000]))],
    ['FP32', [2, 1], raw(new Float32Array([Number.NaN, 2.5]))],
    ['FP64', [1], raw(new Float64Array([Math.PI]))],
    ['BF16', [1], raw(new Uint16Array([0x3f80]))],
    ['BYTES', [2], bytesRaw('a', Buffer.from([0xff, 0x00]))],
  ];
  it.each(binaryCases)('%s round-trips as binary both ways', async (datatype, shape, data) => {
    const header = {
      parameters: { binary_data_output: true },
      inputs: [{ name: 'v', datatype, shape, parameters: { binary_data_size: data.length } }],
    };
    const res = await postBinary(tensors, 'tensor-echo', header, data);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.body.outputs).toEqual([{ name: 'v', datatype, shape, parameters: { binary_data_size: data.length } }]);
    expect(res.binary.equals(data)).toBe(true);
  });

  it('mixes binary and JSON inputs, and answers each output as asked', async () => {
    const x = raw(new Float32Array([1, 2, 3, 4]));
    const res = await postBinary(
      tensors,
      'tensor-echo',
      {
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: x.length } },
          { name: 'n', datatype: 'INT32', shape: [1], data: [5] },
        ],
        outputs: [{ name: 'n', parameters: { binary_data: true } }, { name: 'y' }],
      },
      x,
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body.outputs).toEqual([
      { name: 'n', datatype: 'INT32', shape: [1], parameters: { binary_data_size: 4 } },
      { name: 'y', datatype: 'FP32', shape: [2, 2], data: [2, 4, 6, 8] },
    ]);
    expect(res.binary.readInt32LE(0)).toBe(5);
  });

  it('what JSON cannot carry goes binary even unasked: FP16, non-finite floats, BYTES that are not UTF-8', async () => {
    const h = raw(new Uint16Array([0x3c00]));
    const f = raw(new Float32Array([Number.POSITIVE_INFINITY]));
    const b = bytesRaw(Buffer.from([0xc3]));
    const res = await postBinary(
      tensors,
      'tensor-echo',
      {
        inputs: [
          { name: 'h', datatype: 'FP16', shape: [1], parameters: { binary_data_size: h.length } },
          { name: 'f', datatype: 'FP32', shape: [1], parameters: { binary_data_size: f.length } },
          { name: 'b', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: b.length } },
          { name: 'ok', datatype: 'UINT8', shape: [1], data: [1] },
        ],
      },
      h,
      f,
      b,
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body.outputs.map((o: any) => [o.name, o.parameters?.binary_data_size, o.data])).toEqual([
      ['h', 2, undefined],
      ['f', 4, undefined],
      ['b', 5, undefined],
      ['ok', undefined, [1]],
    ]);
    expect(res.binary.equals(Buffer.concat([h, f, b]))).toBe(true);
  });

  it('Inference-Header-Content-Length: 0: the whole body is the single input, its variable dimension sized to it', async () => {
    const x = raw(new Float32Array([1, 2, 3]));
    const res = await v2(scale, '/v2/models/tensor-scale/infer', {
      method: 'POST',
      headers: { 'inference-header-content-length': '0', 'content-type': 'application/octet-stream' },
      body: x,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [3], data: [10, 20, 30] }]);
    // A model with several inputs needs the JSON header.
    const many = await v2(echo, '/v2/models/echo/infer', {
      method: 'POST',
      headers: { 'inference-header-content-length': '0' },
      body: 'hi',
    });
    expectV2Error(many, 400, /does not have exactly one input/);
  });

  it('refuses binary data that does not match: 400 with {"error"}', async () => {
    const four = Buffer.alloc(4);
    const input = (size: number, datatype = 'FP32', shape = [2]) => ({
      inputs: [{ name: 'v', datatype, shape, parameters: { binary_data_size: size } }],
    });
    expectV2Error(await postBinary(tensors, 'tensor-echo', input(4), four), 400, /needs 8 bytes, got 4/);
    expectV2Error(await postBinary(tensors, 'tensor-echo', input(8), four), 400, /runs past the binary data/);
    expectV2Error(await postBinary(tensors, 'tensor-echo', input(4, 'FP32', [1]), four, four), 400, /4 bytes past the inputs/);
    expectV2Error(
      await postBinary(tensors, 'tensor-echo', input(4, 'BYTES', [1]), Buffer.from([9, 0, 0, 0])),
      400,
      /BYTES data must be elements/,
    );
    const bad = await v2(tensors, '/v2/models/tensor-echo/infer', {
      method: 'POST',
      headers: { 'inference-header-content-length': '99' },
      body: 'x',
    });
    expectV2Error(bad, 400, /Inference-Header-Content-Length must be an integer from 0 to the body's length/);
    // Without the header a binary body is not V2 JSON.
    const plain = await v2(tensors, '/v2/models/tensor-echo/infer', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: four,
    });
    expectV2Error(plain, 400, /unsupported content type/);
  });
});

describe('AIGes wrappers answer V2 unchanged', () => {
  it('demo/echo: BYTES [1] in, the item bytes through the plugin, BYTES [1] out; encoding rides as a parameter', async () => {
    const res = await post(echo, 'echo', {
      id: 'e1',
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['hello'], parameters: { encoding: 'utf8', lang: 'en' } }],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      model_name: 'echo',
      model_version: '1.0.0',
      id: 'e1',
      outputs: [{ name: 'text', datatype: 'BYTES', shape: [1], parameters: { encoding: 'utf8', lang: 'en' }, data: ['hello'] }],
    });
  });

  it('demo/echo: binary audio bytes in and out; plugin params from request parameters', async () => {
    const pcm = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    const element = bytesRaw(pcm);
    const header = {
      parameters: { delay_ms: 0, binary_data_output: true },
      inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: element.length } }],
    };
    const res = await postBinary(echo, 'echo', header, element);
    expect(res.status, res.text).toBe(200);
    expect(res.body.outputs).toEqual([{ name: 'audio', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 8 } }]);
    expect(res.binary.equals(element)).toBe(true);
    // A param the plugin does not take is the data plane's 10106, as on every protocol.
    expectV2Error(
      await post(echo, 'echo', { parameters: { nope: 1 }, inputs: [{ name: 'data', datatype: 'BYTES', shape: [1], data: ['x'] }] }),
      400,
      /unknown param "nope"/,
    );
  });

  it('demo/native-echo (the AIGes C ABI) answers a V2 request', async () => {
    const res = await post(native, 'native-echo', { inputs: [{ name: 'data', datatype: 'BYTES', shape: [1], data: ['from V2'] }] });
    expect(res.status, res.text).toBe(200);
    expect(res.body.outputs).toEqual([expect.objectContaining({ name: 'data', datatype: 'BYTES', shape: [1], data: ['from V2'] })]);
  });
});

describe('statistics', () => {
  it('counts a model’s successful and failed inferences (Triton shape)', async () => {
    const before = (await v2(scale, '/v2/models/tensor-scale/stats')).body.model_stats[0];
    await post(scale, 'tensor-scale', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] });
    await post(scale, 'tensor-scale', { inputs: [{ name: 'x', datatype: 'INT32', shape: [1], data: [1] }] });
    const after = (await v2(scale, '/v2/models/tensor-scale/stats')).body.model_stats[0];
    expect(after).toMatchObject({ name: 'tensor-scale', version: '1' });
    expect(after.inference_count - before.inference_count).toBe(1);
    expect(after.execution_count).toBe(after.inference_count);
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(1);
    expect(after.inference_stats.fail.count - before.inference_stats.fail.count).toBe(1);
    expect(after.inference_stats.success.ns).toBeGreaterThan(before.inference_stats.success.ns);
    // The refused call never reached an exec: one more wait for a slot, one more exec.
    const { queue, compute_infer } = before.inference_stats;
    expect([after.inference_stats.queue.count, after.inference_stats.compute_infer.count]).toEqual([
      queue.count + 1,
      compute_infer.count + 1,
    ]);
  });

  it("GET /v2/models/{m}/config: Triton's model configuration from the schema", async () => {
    const config = await v2(scale, '/v2/models/tensor-scale/versions/1/config');
    expect([config.status, config.body]).toEqual([
      200,
      {
        name: 'tensor-scale',
        platform: 'aiges-ts',
        max_batch_size: 0,
        input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1] }],
        output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [-1] }],
      },
    ]);
    expect((await v2(scale, '/v2/models/tensor-scale/versions/2/config')).status).toBe(404);
  });

  it('GET /v2/models/stats lists every model; a version or model not served is 404', async () => {
    const all = await v2(scale, '/v2/models/stats');
    expect([all.status, all.body.model_stats.map((m: { name: string }) => m.name)]).toEqual([200, ['tensor-scale']]);
    expect((await v2(scale, '/v2/models/tensor-scale/versions/1/stats')).body.model_stats).toEqual(all.body.model_stats);
    expect((await v2(scale, '/v2/models/tensor-scale/versions/2/stats')).status).toBe(404);
    expect((await v2(scale, '/v2/models/nope/stats')).status).toBe(404);
  });
});

describe('with [auth] mode = "aksk"', () => {
  const alice: TestKey = { access_key: 'alice', secret_key: newSecret() };
  let signed: Loader;
  beforeAll(async () => {
    signed = await startLoader({ auth: { mode: 'aksk', keys_file: writeKeysFile([alice]) } });
  });
  afterAll(() => signed?.stop());

  it('V2 routes take signed requests only (binary bodies hashed as sent); health stays open', async () => {
    const host = `127.0.0.1:${signed.httpPort}`;
    const element = bytesRaw('hi');
    const { body, headers } = binaryBody(
      { inputs: [{ name: 'data', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: element.length } }] },
      element,
    );
    const path = '/v2/models/echo/infer';
    expectV2Error(await v2(signed, path, { method: 'POST', headers, body }), 401, /missing authorization/);
    expectV2Error(await v2(signed, '/v2/models/echo'), 401, /missing authorization/);
    expectV2Error(await v2(signed, '/v2'), 401, /missing authorization/);
    const ok = await v2(signed, path, {
      method: 'POST',
      headers: { ...headers, ...signHeaders({ key: alice, method: 'POST', path, host, body }) },
      body,
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.outputs).toEqual([{ name: 'data', datatype: 'BYTES', shape: [1], data: ['hi'] }]);
    const tampered = Buffer.from(body);
    tampered[tampered.length - 1] = 0x21;
    const bad = await v2(signed, path, {
      method: 'POST',
      headers: { ...headers, ...signHeaders({ key: alice, method: 'POST', path, host, body }) },
      body: tampered,
    });
    expect(bad.status).toBe(401);
    const meta = await v2(signed, '/v2/models/echo', {
      headers: signHeaders({ key: alice, method: 'GET', path: '/v2/models/echo', host }),
    });
    expect(meta.status).toBe(200);
    expect((await v2(signed, '/v2/health/ready')).status).toBe(200);
  });
});
