/**
 * Fuzzing the gRPC adapter with fast-check against a real loader (echo) on port 0: raw bytes as
 * the request messages of every aiges.v1.Loader method (Infer, Metadata, WatchLoad, Session,
 * Relay), sent through a grpc-js client with identity serializers, so the loader's own decoding
 * is what is fuzzed. Bytes are arbitrary, hand-made protobuf (any field number, any wire type),
 * or valid encodings of random requests with bytes flipped, cut or appended.
 *
 * Properties: a request (or a stream's first message) that does not decode is refused with
 * INVALID_ARGUMENT / 10009; every call ends (within its deadline) in OK with a response its codec
 * reads, or in a status with an `aiges-code` trailer (the loader's errors; grpc-js's own size refusal is
 * RESOURCE_EXHAUSTED); never UNKNOWN or INTERNAL without a code; the loader then serves a valid
 * call, is ready with nothing in flight, and its handles and memory are back.
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import protobuf from 'protobufjs/minimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../loader/errors.js';
import { aigesCodeOf, infer } from '../../loader/tools/client.js';
import { loadLoaderProto } from '../../proto/load.js';
import type { InferRequest } from '../../proto/gen/aiges/v1/InferRequest.js';
import { expectBackTo, type Footprint, footprint, FUZZ_RUNS } from '../lib/fuzz.js';
import { expectFree, serve, type Served, textItem } from './grpc-helpers.js';

const MAX_MESSAGE_BYTES = 4096;
const service = loadLoaderProto().aiges.v1.Loader.service;
const identity = (b: Buffer) => b;
/** Long enough for any answer on a loaded machine; a call still open then is a hang. */
const DEADLINE_MS = 10_000;

let served: Served;
let raw: grpc.Client;
let before: Footprint;
beforeAll(async () => {
  served = await serve({ limits: { max_message_bytes: MAX_MESSAGE_BYTES, session_idle_timeout_ms: 300 } });
  await infer(served.client, { service: 'echo', items: [textItem('warm up')] });
  before = footprint();
  raw = new grpc.Client(served.address, grpc.credentials.createInsecure());
});
afterAll(async () => {
  await served.close();
});

const deadline = () => ({ deadline: Date.now() + DEADLINE_MS });

/** How a call ended: OK with its messages, or its status. */
type Ending = { ok: true; messages: Buffer[] } | { ok: false; error: grpc.ServiceError };

/** Whether the request message `bytes` is one `decode` refuses (within the size grpc-js takes). */
function undecodable(decode: (b: Buffer) => unknown, bytes: Buffer | undefined): boolean {
  if (bytes === undefined || bytes.length > MAX_MESSAGE_BYTES) return false;
  try {
    decode(bytes);
    return false;
  } catch {
    return true;
  }
}

/**
 * The property every ending holds (see the file's comment); `malformed`: the request (or a
 * stream's first message) does not decode, which every method refuses with 10009.
 */
function expectAnswered(ending: Ending, decode: (b: Buffer) => unknown, malformed: boolean): void {
  if (malformed) {
    expect(ending.ok ? 'OK' : [grpc.status[ending.error.code], aigesCodeOf(ending.error)]).toEqual([
      'INVALID_ARGUMENT',
      Codes.INVALID_DATA,
    ]);
  }
  if (ending.ok) {
    for (const m of ending.messages) decode(m);
    return;
  }
  const { code, details } = ending.error;
  const aigesCode = aigesCodeOf(ending.error);
  expect(code, `no answer within ${DEADLINE_MS} ms: ${details}`).not.toBe(grpc.status.DEADLINE_EXCEEDED);
  if (aigesCode === undefined) {
    expect({ status: grpc.status[code], details }).toMatchObject({
      status: 'RESOURCE_EXHAUSTED',
      details: expect.stringMatching(/larger than max/),
    });
  }
}

function unary(path: string, bytes: Buffer): Promise<Ending> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(path, identity, identity, bytes, new grpc.Metadata(), deadline(), (err, res) =>
      resolve(err ? { ok: false, error: err } : { ok: true, messages: [res as Buffer] }),
    );
  });
}

/** A bidi call: writes `messages`, half-closes, collects replies until the status. */
function bidi(path: string, messages: Buffer[]): Promise<Ending> {
  return new Promise((resolve) => {
    const call = raw.makeBidiStreamRequest(path, identity, identity, new grpc.Metadata(), deadline());
    const out: Buffer[] = [];
    call.on('data', (b: Buffer) => out.push(b));
    call.on('error', (error: grpc.ServiceError) => resolve({ ok: false, error }));
    call.on('status', (s: grpc.StatusObject) => s.code === grpc.status.OK && resolve({ ok: true, messages: out }));
    for (const m of messages) call.write(m);
    call.end();
  });
}

/** WatchLoad: the first report (then cancelled: the stream does not end by itself), or the status. */
function watchLoad(bytes: Buffer): Promise<Ending> {
  return new Promise((resolve) => {
    const call = raw.makeServerStreamRequest('/aiges.v1.Loader/WatchLoad', identity, identity, bytes, new grpc.Metadata(), deadline());
    call.on('data', (b: Buffer) => {
      resolve({ ok: true, messages: [b] });
      call.cancel();
    });
    call.on('error', (error: grpc.ServiceError) => error.code !== grpc.status.CANCELLED && resolve({ ok: false, error }));
  });
}

// ---- generators ----

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('echo', '', '__proto__', 'constructor', 'sid', 'text'));
const stringMap = fc.dictionary(text, fc.string({ maxLength: 12 }), { maxKeys: 3 });
const item = fc.record({
  key: text,
  type: fc.integer({ min: -2, max: 6 }),
  status: fc.integer({ min: -2, max: 5 }),
  encoding: fc.string({ maxLength: 8 }),
  attributes: stringMap,
  data: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  datatype: fc.constantFrom('', 'FP32', 'INT8', 'BYTES', 'X'),
  shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 70 }), fc.constantFrom(2 ** 40, Number.MAX_SAFE_INTEGER, -(2 ** 53))), {
    maxLength: 3,
  }),
});
/** An InferRequest / SessionRequest of random content (the two have one shape; enum values out of range too). */
const request = fc.record({
  service: fc.oneof({ weight: 3, arbitrary: fc.constant('echo') }, { weight: 1, arbitrary: text }),
  params: stringMap,
  headers: stringMap,
  items: fc.array(item, { maxLength: 3 }),
});

/** Protobuf of any field numbers and wire types (well-formed framing, nonsense fields). */
const anyProto = fc
  .array(
    fc.record({
      field: fc.integer({ min: 1, max: 12 }),
      wire: fc.constantFrom(0, 1, 2, 3, 4, 5),
      value: fc.oneof(fc.nat(), fc.uint8Array({ maxLength: 20 })),
    }),
    { maxLength: 6 },
  )
  .map((fields) => {
    const w = protobuf.Writer.create();
    for (const { field, wire, value } of fields) {
      w.uint32((field << 3) | wire);
      if (wire === 0) w.uint32(typeof value === 'number' ? value : value.length);
      else if (wire === 1) w.fixed64(typeof value === 'number' ? value : 0);
      else if (wire === 2) w.bytes(typeof value === 'number' ? Buffer.from(String(value)) : value);
      else if (wire === 5) w.fixed32(typeof value === 'number' ? value : 0);
      // 3 and 4: group start and end, no payload.
    }
    return Buffer.from(w.finish());
  });

/** `bytes` with bytes flipped, and a tail cut or appended. */
const mutate = (bytes: fc.Arbitrary<Buffer>) =>
  fc
    .tuple(
      bytes,
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 }),
      fc.integer({ min: -6, max: 6 }),
      fc.uint8Array({ maxLength: 6 }),
    )
    .map(([b, flips, tail, extra]) => {
      const out = Buffer.from(b);
      for (const [at, value] of flips) if (out.length > 0) out[at % out.length] = value;
      return tail < 0 ? out.subarray(0, Math.max(0, out.length + tail)) : Buffer.concat([out, Buffer.from(extra).subarray(0, tail)]);
    });

/** Message bytes for a method whose valid encodings `valid` makes. */
const messageBytes = (valid: fc.Arbitrary<Buffer>) =>
  fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 3, arbitrary: mutate(valid) },
    { weight: 2, arbitrary: anyProto },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(MAX_MESSAGE_BYTES + 70 * 1024, 1)) },
  );

const inferBytes = messageBytes(request.map((r) => service.Infer.requestSerialize(r as unknown as InferRequest)));
const sessionBytes = messageBytes(request.map((r) => service.Session.requestSerialize(r as unknown as InferRequest)));
const metadataBytes = messageBytes(text.map((s) => service.Metadata.requestSerialize({ service: s })));
const watchBytes = messageBytes(fc.constant(Buffer.alloc(0)));
const relayBytes = messageBytes(
  fc
    .record({ id: fc.nat(), request: inferBytes, timeoutMs: fc.nat({ max: 5_000 }), cancel: fc.boolean() })
    .map((f) => service.Relay.requestSerialize(f)),
);

describe('gRPC under fuzzing', () => {
  it('every method answers raw request bytes with OK or a coded status; the loader serves on and leaks nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          inferBytes.map((b) => ['Infer', b] as const),
          metadataBytes.map((b) => ['Metadata', b] as const),
          watchBytes.map((b) => ['WatchLoad', b] as const),
          fc.array(sessionBytes, { maxLength: 4 }).map((b) => ['Session', b] as const),
          fc.array(relayBytes, { maxLength: 4 }).map((b) => ['Relay', b] as const),
        ),
        async ([method, bytes]) => {
          const path = `/aiges.v1.Loader/${method}`;
          const bad = undecodable(service[method].requestDeserialize, Array.isArray(bytes) ? bytes[0] : bytes);
          switch (method) {
            case 'Infer':
              return expectAnswered(await unary(path, bytes), service.Infer.responseDeserialize, bad);
            case 'Metadata':
              return expectAnswered(await unary(path, bytes), service.Metadata.responseDeserialize, bad);
            case 'WatchLoad':
              return expectAnswered(await watchLoad(bytes), service.WatchLoad.responseDeserialize, bad);
            case 'Session':
              return expectAnswered(await bidi(path, bytes), service.Session.responseDeserialize, bad);
            case 'Relay':
              return expectAnswered(await bidi(path, bytes), service.Relay.responseDeserialize, bad);
          }
        },
      ),
      { numRuns: FUZZ_RUNS * 4 },
    );
    raw.close();
    const res = await infer(served.client, { service: 'echo', items: [textItem('still here')] });
    expect(res.items.map((i) => i.data.toString())).toEqual(['still here']);
    expect(served.loader.health.ready).toBe(true);
    await expectFree(served.loader);
    await expectBackTo(before);
  });
});
