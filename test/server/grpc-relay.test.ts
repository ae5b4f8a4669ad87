/**
 * aiges.v1.Loader/Relay against a real loader: Infer calls as frames on one stream (the balancer's
 * side is polaris/balancer/mux.ts): answers by id, per-call errors, deadlines, cancels, half-close.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadLoaderProto } from '../../proto/load.js';
import type { InferRequest } from '../../proto/gen/aiges/v1/InferRequest.js';
import type { RelayFrame, RelayFrame__Output } from '../../proto/gen/aiges/v1/RelayFrame.js';
import { Codes } from '../../loader/errors.js';
import { aigesCodeOf } from '../../loader/tools/client.js';
import { slowStats } from '../fixtures/plugins/slow.js';
import { FIXTURES, expectFree, rawBidi, serve, textItem, type Served } from './grpc-helpers.js';

const codec = loadLoaderProto().aiges.v1.Loader.service.Infer;
const request = (r: InferRequest): Buffer => codec.requestSerialize(r);
const itemsOf = (frame: RelayFrame__Output) => codec.responseDeserialize(frame.response).items.map((i) => [i.key, i.data.toString()]);

let served: Served[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(served.map((s) => s.close()));
  served = [];
});

async function start(plugin = 'demo/echo'): Promise<Served> {
  const s = await serve({ plugin: { path: plugin } });
  served.push(s);
  return s;
}

/** A Relay stream: frames written, replies collected by id, and the stream's end. */
function relay(s: Served) {
  const call = s.client.Relay();
  const replies = new Map<number, RelayFrame__Output>();
  const waiters: (() => void)[] = [];
  call.on('data', (f: RelayFrame__Output) => {
    replies.set(f.id, f);
    for (const w of waiters.splice(0)) w();
  });
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('error', () => undefined); // the status says it
  return {
    call,
    send: (frame: RelayFrame) => call.write(frame),
    /** Drops the reply received for `id` (to wait for the next one). */
    forget: (id: number) => replies.delete(id),
    reply: (id: number) =>
      new Promise<RelayFrame__Output>((resolve, reject) => {
        const check = () => {
          const r = replies.get(id);
          if (r !== undefined) resolve(r);
          else waiters.push(check);
        };
        check();
        void ended.then(() => (replies.has(id) ? undefined : reject(new Error(`stream ended without a reply to ${id}`))));
      }),
    ended,
  };
}

describe('Relay', () => {
  it('answers each call frame by its id, in any order, with what Infer would answer', async () => {
    const s = await start();
    const r = relay(s);
    for (const id of [7, 3, 11]) r.send({ id, request: request({ service: 'echo', items: [textItem(`call ${id}`)] }) });
    const replies = await Promise.all([7, 3, 11].map((id) => r.reply(id)));
    expect(replies.map((f) => [f.id, f.grpcStatus, itemsOf(f)])).toEqual([
      [7, 0, [['text', 'call 7']]],
      [3, 0, [['text', 'call 3']]],
      [11, 0, [['text', 'call 11']]],
    ]);
    r.call.end();
    expect((await r.ended).code).toBe(grpc.status.OK);
    await expectFree(s.loader);
  });

  it('a failing call fails alone (its code and message in its frame); the stream goes on', async () => {
    const s = await start();
    const r = relay(s);
    r.send({ id: 1, request: Buffer.from([0xff, 0xff, 0xff]) });
    r.send({ id: 2, request: request({ service: 'nope', items: [textItem('x')] }) });
    r.send({ id: 3, request: request({ service: 'echo', items: [textItem('fine')] }) });
    const [bad, unknown, ok] = await Promise.all([r.reply(1), r.reply(2), r.reply(3)]);
    expect(bad).toMatchObject({ grpcStatus: grpc.status.INVALID_ARGUMENT, aigesCode: Codes.INVALID_DATA });
    expect(bad.grpcMessage).toMatch(/malformed protobuf/);
    expect(unknown).toMatchObject({ grpcStatus: grpc.status.NOT_FOUND, aigesCode: Codes.SERVICE_NOT_FOUND });
    expect(itemsOf(ok)).toEqual([['text', 'fine']]);
    r.call.end();
    await r.ended;
    await expectFree(s.loader);
  });

  it('a call runs under its timeout_ms (10102); a cancel frame cancels it (10202); both free the slot', async () => {
    const s = await start(`${FIXTURES}/slow.ts`);
    const r = relay(s);
    const infer = s.loader.dataplane.infer.bind(s.loader.dataplane);
    const received: number[] = [];
    const infers = vi.spyOn(s.loader.dataplane, 'infer').mockImplementation((...args) => {
      received.push(Date.now());
      return infer(...args);
    });
    const sent = Date.now();
    r.send({ id: 1, timeoutMs: 100, request: request({ service: 'slow', params: { ms: '3000' }, items: [textItem('x')] }) });
    expect(await r.reply(1)).toMatchObject({ grpcStatus: grpc.status.DEADLINE_EXCEEDED, aigesCode: Codes.EXEC_TIMEOUT });
    // The deadline answered it, not the plugin: the slow plugin (which ignores its abort signal) is still running.
    expect(slowStats().running).toBe(1);
    // The call ran under the frame's timeout_ms, counted from when the frame arrived.
    const deadline = infers.mock.calls[0]?.[1]?.deadline ?? Number.NaN;
    expect(deadline).toBeGreaterThanOrEqual(sent + 100);
    expect(deadline).toBeLessThanOrEqual(received[0]! + 100);
    infers.mockRestore();

    r.send({ id: 2, request: request({ service: 'slow', params: { ms: '3000' }, items: [textItem('y')] }) });
    await vi.waitFor(() => expect(s.loader.dataplane.admission.inUse).toBeGreaterThan(0));
    // The id of a call still open cannot be used again: that frame alone is refused.
    r.send({ id: 2, request: request({ service: 'slow', params: { ms: '0' }, items: [textItem('again')] }) });
    expect(await r.reply(2)).toMatchObject({ aigesCode: Codes.INVALID_OP, grpcMessage: expect.stringContaining('already open') });
    r.forget(2);
    r.send({ id: 2, cancel: true });
    expect(await r.reply(2)).toMatchObject({ grpcStatus: grpc.status.CANCELLED, aigesCode: Codes.CANCELLED });
    await vi.waitFor(() => expect(s.loader.dataplane.admission.inUse).toBe(0));
    r.call.end();
    await r.ended;
  });

  it('after the balancer half-closes, the open calls are still answered, then the stream ends OK', async () => {
    const s = await start(`${FIXTURES}/slow.ts`);
    const r = relay(s);
    r.send({ id: 1, request: request({ service: 'slow', params: { ms: '150' }, items: [textItem('late')] }) });
    r.call.end();
    const reply = await r.reply(1);
    expect(itemsOf(reply)).toEqual([['text', 'late']]);
    expect((await r.ended).code).toBe(grpc.status.OK);
  });

  it('a stopping loader ends an idle Relay stream after its drain; the shutdown never has to force it', async () => {
    const s = await start();
    const r = relay(s);
    r.send({ id: 1, request: request({ service: 'echo', items: [textItem('x')] }) });
    await r.reply(1);
    const forced = vi.spyOn(grpc.Server.prototype, 'forceShutdown');
    await s.loader.stop();
    // The stream ended OK by itself once the loader stopped; the graceful gRPC shutdown never had
    // to fall back to cutting it (GRPC_SHUTDOWN_GRACE_MS later).
    expect((await r.ended).code).toBe(grpc.status.OK);
    expect(forced).not.toHaveBeenCalled();
    forced.mockRestore();
  });

  it('a stream going away cancels its open calls', async () => {
    const s = await start(`${FIXTURES}/slow.ts`);
    const r = relay(s);
    r.send({ id: 1, request: request({ service: 'slow', params: { ms: '3000' }, items: [textItem('x')] }) });
    await vi.waitFor(() => expect(s.loader.dataplane.admission.inUse).toBe(1));
    r.call.cancel();
    await vi.waitFor(() => expect(s.loader.dataplane.admission.inUse).toBe(0));
  });

  it('a frame that is not a RelayFrame ends the stream with 10009', async () => {
    const s = await start();
    const err = await rawBidi(s.address, '/aiges.v1.Loader/Relay', [Buffer.from([0x0a, 0xff])]).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err === undefined ? undefined : aigesCodeOf(err)).toBe(Codes.INVALID_DATA);
    await expectFree(s.loader);
  });
});
