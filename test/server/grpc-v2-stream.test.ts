/**
 * V2 gRPC ModelStreamInfer: once calls and sequences (sessions) on one stream, a client made from
 * proto/inference/grpc_service.proto against real loaders on port 0.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { loadInferenceProto } from '../../proto/load.js';
import type { GRPCInferenceServiceClient } from '../../proto/gen/inference/GRPCInferenceService.js';
import type { ModelInferRequest } from '../../proto/gen/inference/ModelInferRequest.js';
import type { ModelStreamInferResponse__Output } from '../../proto/gen/inference/ModelStreamInferResponse.js';
import { startLoader } from './http-helpers.js';
import { newSecret, signHeaders, writeKeysFile } from './auth-helpers.js';

let echo: Loader;
let tensors: Loader;
const clients: GRPCInferenceServiceClient[] = [];

beforeAll(async () => {
  [echo, tensors] = await Promise.all([startLoader(), startLoader({ plugin: { path: 'test/fixtures/plugins/tensor-echo.ts' } })]);
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([echo, tensors].map((l) => l?.stop()));
});

/** One ModelStreamInfer call: answers are read in arrival order with `next()`. */
function stream(loader: Loader, metadata = new grpc.Metadata()) {
  const Client = loadInferenceProto().inference.GRPCInferenceService;
  const c = new Client(`127.0.0.1:${loader.grpcPort}`, grpc.credentials.createInsecure());
  clients.push(c);
  const call = c.ModelStreamInfer(metadata);
  const answers: ModelStreamInferResponse__Output[] = [];
  const waiting: ((a: ModelStreamInferResponse__Output) => void)[] = [];
  call.on('data', (a: ModelStreamInferResponse__Output) => {
    const w = waiting.shift();
    if (w !== undefined) w(a);
    else answers.push(a);
  });
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('error', () => undefined);
  return {
    call,
    status,
    send: (...requests: ModelInferRequest[]) => {
      for (const r of requests) call.write(r);
    },
    next: (): Promise<ModelStreamInferResponse__Output> =>
      answers.length > 0 ? Promise.resolve(answers.shift()!) : new Promise((resolve) => waiting.push(resolve)),
    async take(n: number): Promise<ModelStreamInferResponse__Output[]> {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await this.next());
      return out;
    },
  };
}

type Param = ModelInferRequest['parameters'];

/** A demo/echo request of one BYTES [1] text. */
function text(id: string, value: string, parameters: Param = {}): ModelInferRequest {
  return {
    modelName: 'echo',
    id,
    parameters,
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], contents: { bytesContents: [Buffer.from(value)] } }],
  };
}

const seq = (id: number | string, flags: { start?: boolean; end?: boolean } = {}): Param => ({
  sequence_id: typeof id === 'number' ? { int64Param: id } : { stringParam: id },
  ...(flags.start === true ? { sequence_start: { boolParam: true } } : {}),
  ...(flags.end === true ? { sequence_end: { boolParam: true } } : {}),
});

/**
 * The text of an echo answer, a BYTES [1] tensor: typed (bytes_contents) when its request sent
 * typed contents, else raw (4-byte length, then the bytes).
 */
const textOf = (a: ModelStreamInferResponse__Output) => {
  const raw = a.inferResponse!.rawOutputContents[0];
  return raw === undefined ? a.inferResponse!.outputs[0]!.contents!.bytesContents[0]!.toString() : Buffer.from(raw).subarray(4).toString();
};

/** `text`'s request with its input sent as raw contents. */
function rawText(id: string, value: string, parameters: Param = {}): ModelInferRequest {
  const bytes = Buffer.from(value);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(bytes.length);
  return {
    ...text(id, value, parameters),
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [1] }],
    rawInputContents: [Buffer.concat([length, bytes])],
  };
}
const param = (a: ModelStreamInferResponse__Output, name: string) => {
  const p = a.inferResponse?.parameters[name];
  return p === undefined ? undefined : p[p.parameterChoice!];
};

describe('ModelStreamInfer once calls', () => {
  it('answers each request with its id, a later one before a slower earlier one; errors as error_message, the stream open', async () => {
    const s = stream(echo);
    // 'slow' waits in the plugin until its own timeout (300 ms, in µs) ends it; the others answer meanwhile.
    s.send(text('slow', 'x', { delay_ms: { int64Param: 60_000 }, timeout: { int64Param: 300_000 } }), text('a', 'one'), text('b', 'two'));
    const first = await s.take(2);
    expect(first.map((a) => [a.inferResponse?.id, textOf(a), a.errorMessage]).sort()).toEqual([
      ['a', 'one', ''],
      ['b', 'two', ''],
    ]);
    expect(first[0]?.inferResponse).toMatchObject({ modelName: 'echo', modelVersion: '1.0.0' });
    const late = await s.next();
    expect(late.errorMessage).not.toBe('');
    expect(late.inferResponse).toMatchObject({ id: 'slow', modelName: 'echo' });
    expect(param(late, 'aiges_code')).toBe(10102);

    s.send({ ...text('bad', 'x'), modelName: 'nope' }, { ...text('seq', 'x'), parameters: { sequence_start: { boolParam: true } } });
    const [unknown, noId] = await s.take(2);
    expect(unknown?.inferResponse?.id).toBe('bad');
    expect(unknown?.errorMessage).toMatch(/nope/);
    expect(noId?.errorMessage).toMatch(/need a sequence_id/);

    s.send(text('after', 'still open'));
    expect(textOf(await s.next())).toBe('still open');
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);
  });
});

describe('ModelStreamInfer sequences', () => {
  it('start → continue → end: the results stream back in order, tagged with the request id and sequence_id, in its contents form', async () => {
    const s = stream(echo);
    const got = [];
    for (const [id, value, flags] of [
      ['r1', 'a', { start: true }],
      ['r2', 'b', {}],
      ['r3', 'c', { end: true }],
    ] as const) {
      // r2 sends raw contents: its result comes raw, the others typed.
      s.send((id === 'r2' ? rawText : text)(id, value, seq(7, flags)));
      got.push(await s.next());
    }
    expect(got.map((a) => [a.inferResponse?.id, textOf(a), param(a, 'sequence_id'), param(a, 'sequence_end')])).toEqual([
      ['r1', 'a', 7, undefined],
      ['r2', 'b', 7, undefined],
      ['r3', 'c', 7, true],
    ]);
    expect(got.map((a) => a.inferResponse?.rawOutputContents.length)).toEqual([0, 1, 0]);
    await vi.waitFor(() => expect(echo.dataplane.openSessions).toBe(0));
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);
  });

  it('two sequences interleaved on one stream, each in its own order; a once call between them', async () => {
    const s = stream(echo);
    s.send(
      text('a1', 'a1', seq('A', { start: true })),
      text('b1', 'b1', seq(2, { start: true })),
      text('o', 'once'),
      text('a2', 'a2', seq('A')),
      text('b2', 'b2', seq(2, { end: true })),
      text('a3', 'a3', seq('A', { end: true })),
    );
    const all = await s.take(6);
    expect(all.every((a) => a.errorMessage === '')).toBe(true);
    const of = (id: unknown) => all.filter((a) => param(a, 'sequence_id') === id).map(textOf);
    expect(of('A')).toEqual(['a1', 'a2', 'a3']);
    expect(of(2)).toEqual(['b1', 'b2']);
    expect(all.filter((a) => param(a, 'sequence_id') === undefined).map(textOf)).toEqual(['once']);
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);
    expect(echo.dataplane.openSessions).toBe(0);
  });

  it('refuses a sequence not open, a second start, and sequences on a plugin without sessions; the stream stays open', async () => {
    const s = stream(echo);
    s.send(text('u', 'x', seq(99)));
    const unknown = await s.next();
    expect(unknown.errorMessage).toMatch(/no session "99" is open/);
    expect([unknown.inferResponse?.id, param(unknown, 'sequence_id'), param(unknown, 'aiges_code')]).toEqual(['u', 99, 10003]);
    s.send(text('s1', 'x', seq(5, { start: true })));
    await s.next();
    s.send(text('s2', 'x', seq(5, { start: true })));
    expect((await s.next()).errorMessage).toMatch(/"5" is open already/);
    s.send(text('s3', 'y', seq(5, { end: true })));
    expect(textOf(await s.next())).toBe('y');
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);

    const t = stream(tensors);
    const x = { name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp32Contents: [1, 2] } };
    t.send({ modelName: 'tensor-echo', id: 'q', parameters: seq(1, { start: true }), inputs: [x] });
    const refused = await t.next();
    expect(refused.errorMessage).toMatch(/no session mode/);
    expect([refused.inferResponse?.id, param(refused, 'sequence_id')]).toEqual(['q', 1]);
    t.send({ modelName: 'tensor-echo', id: 'o', inputs: [x] });
    const once = await t.next();
    expect([once.errorMessage, once.inferResponse?.id]).toEqual(['', 'o']);
    t.call.end();
    expect((await t.status).code).toBe(grpc.status.OK);
  });

  it('answers every request of a sequence whose start failed, and an end of an unknown sequence, with error_message', async () => {
    const s = stream(echo);
    // delay_ms is past the plugin's maximum: the session's open fails after the start was taken.
    s.send(
      text('f1', 'x', { ...seq(4, { start: true }), delay_ms: { int64Param: 10_000_000 } }),
      text('f2', 'y', seq(4)),
      text('f3', 'z', seq(4, { end: true })),
      text('e', 'w', seq('gone', { end: true })),
    );
    const answers = await s.take(4);
    expect(answers.map((a) => [a.inferResponse?.id, param(a, 'sequence_id'), typeof param(a, 'aiges_code')])).toEqual([
      ['f1', 4, 'number'],
      ['f2', 4, 'number'],
      ['f3', 4, 'number'],
      ['e', 'gone', 'number'],
    ]);
    expect(answers[0]?.errorMessage).toMatch(/delay_ms/);
    expect(answers.slice(1).map((a) => a.errorMessage)).toEqual([
      expect.stringMatching(/no session "4" is open/),
      expect.stringMatching(/no session "4" is open/),
      expect.stringMatching(/no session "gone" is open/),
    ]);
    // The stream stays open, the id free: a new start of it works.
    s.send(text('g1', 'again', seq(4, { start: true, end: true })));
    const again = await s.next();
    expect([again.errorMessage, textOf(again), param(again, 'sequence_end')]).toEqual(['', 'again', true]);
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);
    expect(echo.dataplane.openSessions).toBe(0);

    // A start refused because the plugin has no sessions: its later requests are answered too.
    const t = stream(tensors);
    const x = { name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp32Contents: [1, 2] } };
    t.send(
      { modelName: 'tensor-echo', id: 'q1', parameters: seq(1, { start: true }), inputs: [x] },
      { modelName: 'tensor-echo', id: 'q2', parameters: seq(1, { end: true }), inputs: [x] },
    );
    const [refused, later] = await t.take(2);
    expect([refused?.inferResponse?.id, refused?.errorMessage]).toEqual(['q1', expect.stringMatching(/no session mode/)]);
    expect([later?.inferResponse?.id, later?.errorMessage]).toEqual(['q2', expect.stringMatching(/no session "1" is open/)]);
    t.call.end();
    expect((await t.status).code).toBe(grpc.status.OK);
  });

  it("the client's half-close ends an open sequence's input; its cancel ends the sessions and once calls: none stays", async () => {
    const s = stream(echo);
    s.send(text('h', 'x', seq(1, { start: true })));
    await s.next();
    s.call.end();
    const last = await s.next();
    expect([param(last, 'sequence_end'), last.inferResponse?.outputs]).toEqual([true, []]);
    expect((await s.status).code).toBe(grpc.status.OK);
    expect(echo.dataplane.openSessions).toBe(0);

    const c = stream(echo);
    c.send(text('c1', 'x', seq(1, { start: true })), text('c2', 'y', seq(2, { start: true })));
    c.send(text('held', 'z', { delay_ms: { int64Param: 60_000 } }));
    await c.take(2);
    await vi.waitFor(() => expect(echo.dataplane.admission.onceCalls).toBe(1));
    expect(echo.dataplane.openSessions).toBe(2);
    c.call.cancel();
    expect((await c.status).code).toBe(grpc.status.CANCELLED);
    await vi.waitFor(() => expect([echo.dataplane.openSessions, echo.dataplane.admission.onceCalls]).toEqual([0, 0]));
  });
});

describe('ModelStreamInfer with [auth] mode = "aksk"', () => {
  it('an unsigned stream is refused; a stream signed once (empty body) carries a sequence', async () => {
    const key = { access_key: 'a', secret_key: newSecret() };
    const signed = await startLoader({ auth: { mode: 'aksk', keys_file: writeKeysFile([key]) } });
    try {
      const refused = stream(signed);
      refused.send(text('x', 'x'));
      expect((await refused.status).code).toBe(grpc.status.UNAUTHENTICATED);

      const md = new grpc.Metadata();
      md.set('x-ark-nonce', 'n1');
      const path = '/inference.GRPCInferenceService/ModelStreamInfer?nonce=n1';
      for (const [k, v] of Object.entries(signHeaders({ key, method: 'POST', path, host: `127.0.0.1:${signed.grpcPort}` }))) md.set(k, v);
      const s = stream(signed, md);
      s.send(text('s', 'signed', seq(3, { start: true, end: true })));
      const answer = await s.next();
      expect([answer.errorMessage, textOf(answer), param(answer, 'sequence_end')]).toEqual(['', 'signed', true]);
      s.call.end();
      expect((await s.status).code).toBe(grpc.status.OK);
    } finally {
      await signed.stop();
    }
  });
});
