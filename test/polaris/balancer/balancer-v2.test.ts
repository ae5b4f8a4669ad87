/**
 * The Open Inference Protocol V2 over gRPC through the balancer, in process, in front of real
 * loaders found through an in-memory Discovery, with a client made from
 * proto/inference/grpc_service.proto: the model methods routed by model name (and by the
 * aiges-service metadata), the server methods answered by the balancer, ModelStreamInfer relayed
 * to the instance its first message names, the one retry on 10110, and AK/SK at the edge.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { AkSkAuth } from '../../../loader/auth/aksk.js';
import { KeysFile } from '../../../loader/auth/keys.js';
import { AuthSection } from '../../../loader/config/schema.js';
import { installRoot } from '../../../loader/lib/install-root.js';
import type { Loader } from '../../../loader/loader.js';
import { createLogger } from '../../../loader/log.js';
import { AuthCounts, type AuthResult } from '../../../loader/metrics.js';
import { EdgeAuth, HopSigner } from '../../../polaris/balancer/edge-auth.js';
import { RELAY_MAX_BYTES } from '../../../polaris/balancer/forward.js';
import type { GRPCInferenceServiceClient } from '../../../proto/gen/inference/GRPCInferenceService.js';
import type { ModelInferRequest } from '../../../proto/gen/inference/ModelInferRequest.js';
import type { ModelInferResponse__Output } from '../../../proto/gen/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse__Output } from '../../../proto/gen/inference/ModelStreamInferResponse.js';
import { loadInferenceProto } from '../../../proto/load.js';
import { newSecret, type TestKey, writeKeysFile } from '../../server/auth-helpers.js';
import { expectGrpcError, FIXTURES, gate, healthClient, inferenceClient, useGates, v2Unary } from '../../server/grpc-helpers.js';
import { FakeDiscovery, record } from '../fake-discovery.js';
import { balancerFixtures, onceCalls, staleView } from './helpers.js';

const GATED = `${FIXTURES}/http-gated.ts`;
const TENSORS = 'test/fixtures/plugins/tensor-echo.ts';
const STREAM_PATH = '/inference.GRPCInferenceService/ModelStreamInfer';

const { cleanups, loader, balancer, live } = balancerFixtures();

/** A V2 client of `address`, closed after the test; with `key`, signed (see inferenceClient). */
function v2Client(address: string, key?: TestKey, tamper?: Buffer): GRPCInferenceServiceClient {
  const c = inferenceClient(address, key === undefined ? undefined : { accessKey: key.access_key, secretKey: key.secret_key }, tamper);
  cleanups.push(() => c.close());
  return c;
}

const unary = v2Unary;

/** A ModelInfer of a text-in, text-out model (demo/echo, the gated fixture). */
function textInfer(model: string, key: string, text: string | Buffer): ModelInferRequest {
  return {
    modelName: model,
    inputs: [{ name: key, datatype: 'BYTES', shape: [1], contents: { bytesContents: [Buffer.from(text)] } }],
  };
}

/** The one BYTES output's element, as text (typed contents, as textInfer sends). */
function textOut(res: ModelInferResponse__Output | null | undefined): string | undefined {
  return res?.outputs[0]?.contents?.bytesContents[0]?.toString();
}

const modelInferSerialize = loadInferenceProto().inference.GRPCInferenceService.service.ModelInfer.requestSerialize as (
  value: ModelInferRequest,
) => Buffer;
const streamResponseOf = loadInferenceProto().inference.GRPCInferenceService.service.ModelStreamInfer.responseDeserialize as (
  bytes: Buffer,
) => ModelStreamInferResponse__Output;

/**
 * A ModelStreamInfer stream of `c` writing `requests`, then half-closed unless `end` is false;
 * resolves with its responses (as bytes) at its OK end.
 */
function modelStream(c: GRPCInferenceServiceClient, requests: ModelInferRequest[], end = true): Promise<Buffer[]> {
  // NOTE: by path, with the response left as bytes: the tests read what they need of it.
  const call = c.makeBidiStreamRequest(STREAM_PATH, modelInferSerialize, (b: Buffer) => b);
  const got: Buffer[] = [];
  call.on('data', (b: Buffer) => got.push(b));
  for (const r of requests) call.write(r);
  if (end) call.end();
  return new Promise((resolve, reject) => {
    call.on('error', reject);
    call.on('status', (s) => s.code === grpc.status.OK && resolve(got));
  });
}

const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);

describe('V2 gRPC through the balancer', () => {
  it('routes ModelInfer, ModelMetadata, ModelReady and ModelConfig by model name, each to its own service', async () => {
    const [echo, tensors] = await Promise.all([loader(), loader({ plugin: { path: TENSORS } })]);
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', echo.grpcPort, 64));
    discovery.add(record('tensor-echo', tensors.grpcPort, 64));
    // A polaris service name that is not the plugin id, reached by the aiges-service metadata.
    discovery.add(record('echo-prod', echo.grpcPort, 64));
    const lb = await balancer(discovery, ['echo', 'tensor-echo', 'echo-prod']);
    await Promise.all(['echo', 'tensor-echo', 'echo-prod'].map((s) => live(lb, s, 1)));
    const c = v2Client(lb.address);

    const math = await unary<ModelInferResponse__Output>(c, 'ModelInfer', {
      modelName: 'tensor-echo',
      id: 'g1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
      rawInputContents: [f32(1.5, -2)],
    });
    expect(math).toMatchObject({ modelName: 'tensor-echo', modelVersion: '3', id: 'g1' });
    expect([...new Float32Array(new Uint8Array(math.rawOutputContents[0] as Buffer).buffer)]).toEqual([3, -4]);
    const echoed = await unary<ModelInferResponse__Output>(c, 'ModelInfer', textInfer('echo', 'text', 'hi'));
    expect(echoed.modelName).toBe('echo');
    expect(textOut(echoed)).toBe('hi');
    expect(await onceCalls(tensors, 0)).toBe(1);
    expect(await onceCalls(echo, 0)).toBe(1);

    // A large one (on the instance's bulk connection) comes back whole.
    const big = Buffer.alloc(RELAY_MAX_BYTES + 1024, 'b');
    expect(textOut(await unary(c, 'ModelInfer', textInfer('echo', 'text', big)))).toBe(big.toString());
    // By the aiges-service metadata: the polaris service echo-prod, served by the plugin "echo".
    const md = new grpc.Metadata();
    md.set('aiges-service', 'echo-prod');
    expect(textOut(await unary(c, 'ModelInfer', textInfer('echo', 'text', 'prod'), md))).toBe('prod');
    expect(lb.balancer.snapshot()['echo-prod']?.[0]?.streamed).toBe(1);
    // V2 calls never ride the Relay stream (its frames carry aiges.v1 InferRequests).
    for (const endpoints of Object.values(lb.balancer.snapshot())) for (const e of endpoints) expect(e.relayed).toBe(0);

    expect(await unary(c, 'ModelMetadata', { name: 'tensor-echo' })).toMatchObject({ name: 'tensor-echo', versions: ['3'] });
    expect(await unary(c, 'ModelMetadata', { name: 'echo' })).toMatchObject({ name: 'echo' });
    expect(await unary(c, 'ModelReady', { name: 'tensor-echo', version: '3' })).toEqual({ ready: true });
    expect(await unary(c, 'ModelReady', { name: 'echo' })).toEqual({ ready: true });
    expect(await unary(c, 'ModelConfig', { name: 'tensor-echo' })).toMatchObject({ config: { name: 'tensor-echo', maxBatchSize: 0 } });
    // Statistics are each loader's: the balancer does not forward them.
    await expectGrpcError(unary(c, 'ModelStatistics', { name: 'echo' }), grpc.status.UNIMPLEMENTED, undefined);
    // The loader's own errors pass through: a version tensor-echo has not.
    await expectGrpcError(unary(c, 'ModelMetadata', { name: 'tensor-echo', version: '2' }), grpc.status.NOT_FOUND, 10200);

    // A model the balancer does not front: NOT_FOUND with its aiges-code, from the balancer.
    await expectGrpcError(unary(c, 'ModelInfer', textInfer('nope', 'text', 'x')), grpc.status.NOT_FOUND, 10200);
    await expectGrpcError(unary(c, 'ModelMetadata', { name: 'nope' }), grpc.status.NOT_FOUND, 10200);
    const details = await expectGrpcError(unary(c, 'ModelReady', { name: 'nope' }), grpc.status.NOT_FOUND, 10200);
    expect(details).toMatch(/does not front service "nope"/);
  });

  it('answers ServerLive, ServerReady and ServerMetadata itself', async () => {
    const echo = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', echo.grpcPort, 64));
    const lb = await balancer(discovery, ['echo', 'empty']);
    await live(lb, 'echo', 1);
    const c = v2Client(lb.address);
    expect(await unary(c, 'ServerLive', {})).toEqual({ live: true });
    expect(await unary(c, 'ServerReady', {})).toEqual({ ready: true });
    expect(await unary(c, 'ServerMetadata', {})).toEqual({ name: 'aiges-lb', version: installRoot().version, extensions: [] });

    // Not ready while no fronted service has a live instance.
    discovery.set('echo', []);
    await vi.waitFor(() => expect(lb.balancer.snapshot()['echo']).toEqual([]));
    expect(await unary(c, 'ServerReady', {})).toEqual({ ready: false });
    expect(await unary(c, 'ServerLive', {})).toEqual({ live: true });
  });

  it('relays ModelStreamInfer to the instance its first message names', async () => {
    const echo = await loader();
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', echo.grpcPort, 64));
    const lb = await balancer(discovery, ['echo'], { sessionOpenTimeoutMs: 300 });
    await live(lb, 'echo', 1);
    const stream = (requests: ModelInferRequest[], end = true) => modelStream(v2Client(lb.address), requests, end);

    // Two once requests on one stream: both answered by the loader, through the stream the balancer
    // opened to it.
    const before = lb.balancer.snapshot()['echo']?.[0]?.streamed ?? 0;
    const answers = (await stream([textInfer('echo', 'text', 'a'), textInfer('echo', 'text', 'b')])).map(streamResponseOf);
    expect(answers.map((r) => r.errorMessage)).toEqual(['', '']);
    // Each output a BYTES tensor of one element, typed as the request.
    expect(answers.map((r) => textOut(r.inferResponse)).sort()).toEqual(['a', 'b']);
    expect(lb.balancer.snapshot()['echo']?.[0]?.streamed).toBe(before + 1);

    // The balancer's own answers: a model it does not front, no first message (ended, or late).
    await expectGrpcError(stream([textInfer('nope', 'text', 'a')]), grpc.status.NOT_FOUND, 10200);
    await expectGrpcError(stream([]), grpc.status.FAILED_PRECONDITION, 10003);
    await expectGrpcError(stream([], false), grpc.status.DEADLINE_EXCEEDED, 10019);
    expect(lb.balancer.snapshot()['echo']?.[0]?.streamed).toBe(before + 1);
  });

  it('retries a ModelInfer refused with 10110 once, on another instance', async () => {
    const hold = gate();
    const full = await loader({ plugin: { path: GATED }, wrapper: useGates({ exec: hold }), limits: { capacity: 1 } });
    const free = await loader({ plugin: { path: GATED }, limits: { capacity: 4 } });
    const { lb, held } = await staleView(
      full,
      free,
      () => unary(v2Client(`127.0.0.1:${full.grpcPort}`), 'ModelInfer', textInfer('gated', 'text', 'held')),
      (discovery) => balancer(discovery, ['gated']),
      cleanups,
    );

    // The picker prefers `full`; it refuses, the call goes to `free`.
    const res = await unary<ModelInferResponse__Output>(v2Client(lb.address), 'ModelInfer', textInfer('gated', 'text', 'retried'));
    expect(textOut(res)).toBe('retried');
    expect(await onceCalls(full, 10110)).toBe(1);
    expect(await onceCalls(free, 0)).toBe(1);
    hold.open();
    await held;
  });
});

describe('V2 gRPC through the balancer with AK/SK', () => {
  const log = createLogger('silent');
  const alice: TestKey = { access_key: 'alice', secret_key: newSecret(), services: ['echo'] };
  const bob: TestKey = { access_key: 'bob', secret_key: newSecret(), services: ['other'] };
  const lb1: TestKey = { access_key: 'lb1', secret_key: newSecret(), relay: true };
  const keysFile = writeKeysFile([alice, bob, lb1]);
  const counted = (l: Loader, accessKey: string, result: AuthResult): number => {
    for (const [key, results] of l.metrics.auth.entries()) if (key === accessKey) return results.get(result) ?? 0;
    return 0;
  };

  it("checks the client's signature and services at the edge; the loader takes the call as that client's", async () => {
    const echo = await loader({ auth: { mode: 'aksk', keys_file: keysFile } });
    const discovery = new FakeDiscovery();
    discovery.add(record('echo', echo.grpcPort, 64));
    const edge = new EdgeAuth(
      new AkSkAuth(AuthSection.parse({ mode: 'aksk', keys_source: 'polaris' }), new KeysFile(keysFile, log), log, new AuthCounts()),
    );
    const signer = new HopSigner({ accessKey: lb1.access_key, secretKey: lb1.secret_key });
    const lb = await balancer(discovery, ['echo'], { auth: edge, signer });
    await live(lb, 'echo', 1);

    const signed = v2Client(lb.address, alice);
    expect(textOut(await unary(signed, 'ModelInfer', textInfer('echo', 'text', 'signed')))).toBe('signed');
    const big = Buffer.alloc(RELAY_MAX_BYTES + 1024, 'b');
    expect(textOut(await unary(signed, 'ModelInfer', textInfer('echo', 'text', big)))).toBe(big.toString());
    expect(await unary(signed, 'ModelMetadata', { name: 'echo' })).toMatchObject({ name: 'echo' });
    // Each counted at the loader as alice's (the hop signed by lb1, naming her in aiges-caller).
    expect(counted(echo, 'alice', 'ok')).toBe(3);

    await expectGrpcError(unary(v2Client(lb.address), 'ModelInfer', textInfer('echo', 'text', 'x')), grpc.status.UNAUTHENTICATED, 10206);
    const details = await expectGrpcError(
      unary(v2Client(lb.address, bob), 'ModelInfer', textInfer('echo', 'text', 'x')),
      grpc.status.PERMISSION_DENIED,
      10207,
    );
    expect(details).toMatch(/access key "bob" may not call service "echo"/);
    await expectGrpcError(unary(v2Client(lb.address, bob), 'ModelReady', { name: 'echo' }), grpc.status.PERMISSION_DENIED, 10207);
    expect(await onceCalls(echo)).toBe(2);

    // A message that is not the one signed: refused at the edge once it is whole.
    const other = modelInferSerialize(textInfer('echo', 'text', 'not signed'));
    const tamperedDetails = await expectGrpcError(
      unary(v2Client(lb.address, alice, other), 'ModelInfer', textInfer('echo', 'text', 'signed')),
      grpc.status.UNAUTHENTICATED,
      10206,
    );
    expect(tamperedDetails).toMatch(/sha256/i);
    expect(await onceCalls(echo)).toBe(2);

    // A ModelStreamInfer stream: signed at its start (the empty body), the first message's model
    // checked against the key's services; it reaches the loader, which answers as alice's call.
    const okBefore = counted(echo, 'alice', 'ok');
    const [answer] = (await modelStream(signed, [textInfer('echo', 'text', 'a')])).map(streamResponseOf);
    expect(answer?.errorMessage).toBe('');
    expect(textOut(answer?.inferResponse)).toBe('a');
    expect(counted(echo, 'alice', 'ok')).toBe(okBefore + 1);
    await expectGrpcError(modelStream(v2Client(lb.address), [textInfer('echo', 'text', 'a')]), grpc.status.UNAUTHENTICATED, 10206);
    await expectGrpcError(modelStream(v2Client(lb.address, bob), [textInfer('echo', 'text', 'a')]), grpc.status.PERMISSION_DENIED, 10207);
    expect(lb.balancer.snapshot()['echo']?.[0]?.streamed).toBe(3 + 1); // two ModelInfer, ModelMetadata, the one stream

    // The server methods, the balancer's own, take signed calls only, as a loader's do.
    expect(await unary(signed, 'ServerReady', {})).toEqual({ ready: true });
    expect(await unary(signed, 'ServerMetadata', {})).toMatchObject({ name: 'aiges-lb' });
    await expectGrpcError(unary(v2Client(lb.address), 'ServerLive', {}), grpc.status.UNAUTHENTICATED, 10206);
    await expectGrpcError(
      unary(v2Client(lb.address, alice, Buffer.from([0x08, 0x01])), 'ServerLive', {}),
      grpc.status.UNAUTHENTICATED,
      10206,
    );
    // Its grpc.health.v1 stays open (probes).
    const health = healthClient(lb.address);
    cleanups.push(() => health.close());
    expect(
      await new Promise((resolve, reject) => health.Check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res?.status)))),
    ).toBe(1); // SERVING
  });
});
