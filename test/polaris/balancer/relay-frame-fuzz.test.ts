/**
 * Fuzzing the balancer's RelayFrame codec (polaris/balancer/relay-frame.ts) with fast-check:
 * decodeReply takes any bytes (a reply or a thrown Error the stream turns into "lost", never a
 * TypeError or a hang), agrees with the loader's codec (proto-loader's, from loader.proto) on
 * every frame the loader can write, and MessageSplitter gives back the same messages however a
 * stream of them is cut into chunks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callFrame, cancelFrame, decodeReply, MessageSplitter } from '../../../polaris/balancer/relay-frame.js';
import { frameMessage, PREFIX_BYTES } from '../../../polaris/balancer/h2-grpc.js';
import { loadLoaderProto } from '../../../proto/load.js';
import { FUZZ_RUNS } from '../../lib/fuzz.js';

const relay = loadLoaderProto().aiges.v1.Loader.service.Relay;
const uint32 = fc.nat({ max: 2 ** 32 - 1 });

/** A reply frame as the loader writes one (its own codec). */
const loaderReply = fc
  .record({
    id: uint32,
    response: fc.uint8Array({ maxLength: 64 }),
    grpcStatus: fc.nat({ max: 16 }),
    grpcMessage: fc.string({ maxLength: 40 }),
    aigesCode: uint32,
  })
  .map((r) => ({ fields: r, bytes: relay.responseSerialize({ ...r, response: Buffer.from(r.response) }) }));

/** Bytes: anything, and valid replies with bytes flipped, cut or appended. */
const replyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
  fc.tuple(loaderReply, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 }), fc.nat({ max: 8 })).map(([r, flips, cut]) => {
    const bytes = Buffer.from(r.bytes);
    for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
    return bytes.subarray(0, Math.max(0, bytes.length - cut));
  }),
);

describe('RelayFrame codec under fuzzing', () => {
  it('decodeReply reads any bytes into a reply or throws an Error (never a TypeError), in one pass', () => {
    fc.assert(
      fc.property(replyBytes, (bytes) => {
        try {
          const reply = decodeReply(bytes);
          expect(reply.id).toBeGreaterThanOrEqual(0);
          expect(reply.id).toBeLessThan(2 ** 32);
          expect(reply.response.length).toBeLessThanOrEqual(bytes.length);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect(err).not.toBeInstanceOf(TypeError);
        }
      }),
      { numRuns: FUZZ_RUNS * 10 },
    );
  });

  it("decodeReply reads every reply the loader's codec writes as the loader wrote it", () => {
    fc.assert(
      fc.property(loaderReply, ({ fields, bytes }) => {
        const reply = decodeReply(bytes);
        expect({ ...reply, response: [...reply.response] }).toEqual({ ...fields, response: [...fields.response] });
      }),
      { numRuns: FUZZ_RUNS * 5 },
    );
  });

  it("call and cancel frames read back through the loader's codec", () => {
    fc.assert(
      fc.property(uint32, fc.uint8Array({ maxLength: 64 }), uint32, fc.boolean(), (id, request, timeoutMs, cancel) => {
        const framed = cancel ? cancelFrame(id) : callFrame(id, request, timeoutMs);
        expect(framed.readUInt32BE(1)).toBe(framed.length - PREFIX_BYTES);
        const frame = relay.requestDeserialize(framed.subarray(PREFIX_BYTES));
        if (cancel) expect(frame).toMatchObject({ id, cancel: true });
        else
          expect({ id: frame.id, request: [...frame.request], timeoutMs: frame.timeoutMs }).toEqual({
            id,
            request: [...request],
            timeoutMs,
          });
      }),
      { numRuns: FUZZ_RUNS * 5 },
    );
  });

  it('MessageSplitter gives back each message however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
        const stream = Buffer.concat(messages.map((m) => frameMessage(m)));
        const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, i) => stream.subarray(from, at[i] ?? stream.length));
        const splitter = new MessageSplitter();
        const out: number[][] = [];
        for (const chunk of chunks) splitter.push(chunk, (m) => out.push([...m]));
        expect(out).toEqual(messages.map((m) => [...m]));
      }),
      { numRuns: FUZZ_RUNS * 5 },
    );
  });

  it('MessageSplitter takes any bytes: messages, or its compressed-frame or over-limit Error', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 32 }), { maxLength: 8 }), (chunks) => {
        const splitter = new MessageSplitter();
        let total = 0;
        try {
          for (const chunk of chunks) splitter.push(Buffer.from(chunk), (m) => (total += PREFIX_BYTES + m.length));
        } catch (err) {
          expect((err as Error).message).toMatch(/compressed Relay frame|is over the limit of/);
        }
        expect(total).toBeLessThanOrEqual(chunks.reduce((n, c) => n + c.length, 0));
      }),
      { numRuns: FUZZ_RUNS * 5 },
    );
  });
});
