/**
 * gRPC adapter, bad input and plugin failures: every case asserts the gRPC status, the
 * `aiges-code` trailer, and that no slot or session is left behind.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer, runSession, type InferRequest } from '../../loader/tools/client.js';
import type { Loader } from '../../loader/loader.js';
import { loadLoaderProto } from '../../proto/load.js';
import type { DataItem } from '../../proto/gen/aiges/v1/DataItem.js';
import { FIXTURES, expectFree, expectGrpcError, openSession, rawBidi, rawUnary, serve, textItem, type Served } from './grpc-helpers.js';

const { INVALID_ARGUMENT, NOT_FOUND, INTERNAL, UNIMPLEMENTED, FAILED_PRECONDITION, RESOURCE_EXHAUSTED } = grpc.status;
const GARBAGE = Buffer.from([0xff, 0xff, 0xff]);
const MiB = 1024 * 1024;
const frame = (text: string): DataItem[] => [{ ...textItem(text), status: 1 }];

let echo: Served;
let throws: Served;
let onceOnly: Served;
let sessionOnly: Served;
let small: Served;
beforeAll(async () => {
  [echo, throws, onceOnly, sessionOnly, small] = await Promise.all([
    serve(),
    serve({ plugin: { path: `${FIXTURES}/throws.ts` } }),
    serve({ plugin: { path: `${FIXTURES}/grpc-once-only.ts` } }),
    serve({ plugin: { path: `${FIXTURES}/grpc-session-only.ts` } }),
    serve({ limits: { max_message_bytes: MiB } }),
  ]);
});
afterAll(async () => {
  await Promise.all([echo, throws, onceOnly, sessionOnly, small].map((s) => s?.close()));
});

/** Asserts the error, then that `loader` holds nothing. */
async function expectRefused(loader: Loader, call: Promise<unknown>, status: grpc.status, code: number | undefined) {
  const details = await expectGrpcError(call, status, code);
  await expectFree(loader);
  return details;
}

describe('malformed protobuf', () => {
  it('Infer and Metadata → INVALID_ARGUMENT / 10009', async () => {
    const details = await expectRefused(echo.loader, rawUnary(echo.address, '/aiges.v1.Loader/Infer', GARBAGE), INVALID_ARGUMENT, 10009);
    expect(details).toMatch(/malformed protobuf/);
    await expectGrpcError(rawUnary(echo.address, '/aiges.v1.Loader/Metadata', GARBAGE), INVALID_ARGUMENT, 10009);
  });

  it('a session whose first or a later message is garbage → 10009', async () => {
    const path = '/aiges.v1.Loader/Session';
    await expectRefused(echo.loader, rawBidi(echo.address, path, [GARBAGE]), INVALID_ARGUMENT, 10009);
    const open = loadLoaderProto().aiges.v1.Loader.service.Session.requestSerialize({ service: 'echo' });
    await expectRefused(echo.loader, rawBidi(echo.address, path, [open, GARBAGE]), INVALID_ARGUMENT, 10009);
  });
});

describe('items and params checked against the schema', () => {
  const cases: [string, keyof typeof grpc.status, number, InferRequest][] = [
    ['item type 9', 'INVALID_ARGUMENT', 10009, { items: [{ ...textItem('x'), type: 9 as 0 }] }],
    ['item status 7', 'INVALID_ARGUMENT', 10009, { items: [{ ...textItem('x'), status: 7 as 0 }] }],
    ['text sent as AUDIO', 'INVALID_ARGUMENT', 10106, { items: [{ ...textItem('x'), type: 1 }] }],
    ['an unknown key', 'INVALID_ARGUMENT', 10106, { items: [textItem('x', 'video')] }],
    ['the same key twice', 'INVALID_ARGUMENT', 10106, { items: [textItem('x'), textItem('y')] }],
    ['delay_ms=abc', 'INVALID_ARGUMENT', 10106, { params: { delay_ms: 'abc' }, items: [textItem('x')] }],
    ['delay_ms=-1', 'INVALID_ARGUMENT', 10107, { params: { delay_ms: '-1' }, items: [textItem('x')] }],
    ['an unknown param', 'INVALID_ARGUMENT', 10106, { params: { nope: '1' }, items: [textItem('x')] }],
  ];
  it.each(cases)('Infer with %s → %s / %i', async (_, status, code, request) => {
    await expectRefused(echo.loader, infer(echo.client, { service: 'echo', ...request }), grpc.status[status], code);
  });

  it('Infer missing a required key → 10106 naming it', async () => {
    const details = await expectRefused(throws.loader, infer(throws.client, { service: 'throws', items: [] }), INVALID_ARGUMENT, 10106);
    expect(details).toContain('text');
  });

  it('a session with bad params, or a bad item in a later frame → 10106 / 10009', async () => {
    const run = (open: Parameters<typeof runSession>[1], frames: DataItem[][]) => runSession(echo.client, open, frames);
    await expectRefused(echo.loader, run({ service: 'echo', params: { nope: '1' } }, []), INVALID_ARGUMENT, 10106);
    await expectRefused(echo.loader, run({ service: 'echo' }, [frame('a'), [{ ...textItem('b'), type: 1 }]]), INVALID_ARGUMENT, 10106);
    await expectRefused(echo.loader, run({ service: 'echo' }, [frame('a'), [{ ...textItem('b'), type: 9 as 0 }]]), INVALID_ARGUMENT, 10009);
  });
});

describe('oversize messages (limits.max_message_bytes = 1 MiB)', () => {
  const data = (bytes: number): DataItem[] => [{ key: 'data', type: 4, status: 3, data: Buffer.alloc(bytes) }];

  it('Infer: past the envelope room grpc-js refuses it, just past the limit the data plane does', async () => {
    // grpc-js rejects a message over `grpc.max_receive_message_length` (limit + 64 KiB of envelope room)
    // before our handler runs, so that status carries no aiges-code.
    await expectRefused(small.loader, infer(small.client, { service: 'echo', items: data(2 * MiB) }), RESOURCE_EXHAUSTED, undefined);
    const details = await expectRefused(
      small.loader,
      infer(small.client, { service: 'echo', items: data(MiB + 1024) }),
      RESOURCE_EXHAUSTED,
      10201,
    );
    expect(details).toMatch(/exceeds the limit/);
    expect((await infer(small.client, { service: 'echo', items: data(MiB) })).items[0]?.data.length).toBe(MiB);
  });

  it('Session: an oversize frame ends the session either way, leaving nothing open', async () => {
    const run = (bytes: number) =>
      runSession(small.client, { service: 'echo' }, [frame('a'), data(bytes).map((i) => ({ ...i, status: 1 }))]);
    await expectRefused(small.loader, run(MiB + 1024), RESOURCE_EXHAUSTED, 10201);
    await expectRefused(small.loader, run(2 * MiB), RESOURCE_EXHAUSTED, undefined);
  });
});

describe('service and mode', () => {
  it('an unknown service → NOT_FOUND / 10200 (Infer and Session)', async () => {
    expect(await expectRefused(echo.loader, infer(echo.client, { service: 'asr', items: [textItem('x')] }), NOT_FOUND, 10200)).toContain(
      'asr',
    );
    await expectRefused(echo.loader, runSession(echo.client, { service: 'asr' }, [frame('x')]), NOT_FOUND, 10200);
  });

  it('a session on a once-only plugin, an Infer on a session-only one → UNIMPLEMENTED / 10004', async () => {
    await expectRefused(onceOnly.loader, runSession(onceOnly.client, { service: 'once-only' }, [frame('x')]), UNIMPLEMENTED, 10004);
    await expectRefused(
      sessionOnly.loader,
      infer(sessionOnly.client, { service: 'session-only', items: [textItem('x')] }),
      UNIMPLEMENTED,
      10004,
    );
    // Each still serves its own mode.
    expect((await infer(onceOnly.client, { service: 'once-only', items: [textItem('x')] })).items).toHaveLength(1);
    expect((await runSession(sessionOnly.client, { service: 'session-only' }, [frame('x')])).responses.at(-1)?.status).toBe(2);
  });

  it('a stream half-closed before its open message → FAILED_PRECONDITION / 10003', async () => {
    const session = openSession(echo.client);
    session.call.end();
    await expectRefused(echo.loader, session.done, FAILED_PRECONDITION, 10003);
  });
});

describe('plugin failures are wrapped at the boundary', () => {
  const once = (where: string) => infer(throws.client, { service: 'throws', params: { where }, items: [textItem('hi')] });
  const session = (where: string) => runSession(throws.client, { service: 'throws', params: { where } }, [frame('hi')]);

  it.each([
    ['exec', 'INTERNAL', 10909, 'boom in exec'],
    ['output', 'INTERNAL', 10203, 'undeclared'],
    ['reject', 'INVALID_ARGUMENT', 10107, 'text is not a greeting'],
  ] as const)('Infer, where=%s → %s / %i', async (where, status, code, message) => {
    const details = await expectRefused(throws.loader, once(where), grpc.status[status], code);
    expect(details).toContain(message);
    expect(details).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['create', 10905, 'boom in create'],
    ['write', 10907, 'boom in write'],
    ['results', 10908, 'boom in results'],
  ] as const)('Session, where=%s → INTERNAL / %i', async (where, code, message) => {
    expect(await expectRefused(throws.loader, session(where), INTERNAL, code)).toContain(message);
  });

  it('the loader keeps serving after every failure', async () => {
    expect((await once('none')).items[0]?.data.toString()).toBe('hi');
  });
});
