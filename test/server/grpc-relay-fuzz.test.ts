/**
 * Fuzzing aiges.v1.Loader/Relay with fast-check against a real loader (the slow fixture: calls
 * stay open a few ms, so frames meet open calls): streams of RelayFrames built from call frames
 * (ids from a small pool, so they repeat; requests valid, garbage, empty or over the size limit;
 * any timeout_ms), cancels of open, finished and unknown ids, frames carrying the reply fields a
 * loader sends, then a half-close or the stream cancelled midway.
 *
 * Properties: a half-closed stream ends OK within its deadline; each call frame gets exactly one
 * reply with its id: a response the Infer codec reads, or a failure with a status and an
 * `aiges-code`; the loader then has nothing in flight, and its handles and memory are back.
 * (Raw undecodable frames are fuzzed with every method in grpc-fuzz.test.ts.)
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer } from '../../loader/tools/client.js';
import { loadLoaderProto } from '../../proto/load.js';
import type { RelayFrame, RelayFrame__Output } from '../../proto/gen/aiges/v1/RelayFrame.js';
import { expectBackTo, type Footprint, footprint, FUZZ_RUNS } from '../lib/fuzz.js';
import { expectFree, FIXTURES, serve, type Served, textItem } from './grpc-helpers.js';

const MAX_MESSAGE_BYTES = 4096;
const codec = loadLoaderProto().aiges.v1.Loader.service.Infer;
/** Long enough for any stream here on a loaded machine; a stream still open then is a hang. */
const DEADLINE_MS = 10_000;

let served: Served;
let before: Footprint;
beforeAll(async () => {
  served = await serve({ plugin: { path: `${FIXTURES}/slow.ts` }, limits: { max_message_bytes: MAX_MESSAGE_BYTES } });
  await infer(served.client, { service: 'slow', items: [textItem('warm up')] });
  before = footprint();
});
afterAll(async () => {
  await served.close();
});

const id = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 4 }) }, { weight: 1, arbitrary: fc.nat({ max: 2 ** 32 - 1 }) });
const request = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .nat({ max: 20 })
      .map((ms) => codec.requestSerialize({ service: 'slow', params: { ms: String(ms) }, items: [textItem('r')] })),
  },
  { weight: 1, arbitrary: fc.constant(codec.requestSerialize({ service: 'slow', params: { ms: '-1' }, items: [textItem('r')] })) },
  { weight: 1, arbitrary: fc.constant(codec.requestSerialize({ service: 'nope', items: [] })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 1, arbitrary: fc.constant(codec.requestSerialize({ service: 'slow', items: [textItem('x'.repeat(MAX_MESSAGE_BYTES + 1))] })) },
);
const replyFields = fc.record(
  {
    response: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
    grpcStatus: fc.nat({ max: 20 }),
    grpcMessage: fc.string({ maxLength: 20 }),
    aigesCode: fc.nat(),
  },
  { requiredKeys: [] },
);
/** One frame from the balancer's side, or a frame with what only a loader sends. */
const frame: fc.Arbitrary<RelayFrame> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ id, request, timeoutMs: fc.oneof(fc.constant(0), fc.nat({ max: 50 }), fc.constant(2 ** 32 - 1)) }) },
  { weight: 3, arbitrary: id.map((i) => ({ id: i, cancel: true })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(id, fc.option(request, { nil: undefined }), replyFields)
      .map(([i, r, f]) => ({ id: i, ...(r === undefined ? {} : { request: r }), ...f })),
  },
);

interface Outcome {
  replies: RelayFrame__Output[];
  status: grpc.StatusObject;
}

/** Opens a Relay stream, writes `frames`, then half-closes it (or cancels it after `cancelAfter` frames). */
async function relay(frames: RelayFrame[], cancelAfter: number | undefined): Promise<Outcome> {
  const call = served.client.Relay({ deadline: Date.now() + DEADLINE_MS });
  const replies: RelayFrame__Output[] = [];
  call.on('data', (f: RelayFrame__Output) => replies.push(f));
  call.on('error', () => undefined); // the status says it
  const done = new Promise<Outcome>((resolve) => call.on('status', (status) => resolve({ replies, status })));
  for (const f of frames.slice(0, cancelAfter)) call.write(f);
  if (cancelAfter === undefined) call.end();
  else {
    // NOTE: a turn of the event loop first: grpc-js's client, cancelling a call in the tick that
    // started it, sends its headers but never a reset, and the server's stream then stays open
    // (and its deadline timer set) until the deadline.
    await new Promise((resolve) => setImmediate(resolve));
    call.cancel();
  }
  return done;
}

describe('Relay under fuzzing', () => {
  it('frame streams get one coded reply per call frame and end OK; the loader is left idle and leaks nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { minLength: 1, maxLength: 12 }),
        fc.option(fc.nat({ max: 12 }), { freq: 5, nil: undefined }),
        async (frames, cancelAfter) => {
          const cancelled = cancelAfter !== undefined && cancelAfter < frames.length;
          const { replies, status } = await relay(frames, cancelled ? cancelAfter : undefined);
          for (const r of replies) {
            if (r.grpcStatus === 0) codec.responseDeserialize(r.response);
            else expect(r.aigesCode, `reply to ${r.id}: ${r.grpcMessage}`).toBeGreaterThan(0);
          }
          if (cancelled) {
            expect(status.code).toBe(grpc.status.CANCELLED);
            return;
          }
          expect({ code: grpc.status[status.code], details: status.details }).toEqual({ code: 'OK', details: 'OK' });
          const calls = frames.filter((f) => f.cancel !== true).map((f) => f.id ?? 0);
          const count = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b).map((i) => [i, ids.filter((x) => x === i).length]);
          expect(count(replies.map((r) => r.id))).toEqual(count(calls));
        },
      ),
      { numRuns: FUZZ_RUNS * 2 },
    );
    const res = await infer(served.client, { service: 'slow', items: [textItem('still here')] });
    expect(res.items.map((i) => i.data.toString())).toEqual(['still here']);
    await expectFree(served.loader);
    await expectBackTo(before);
  });
});
