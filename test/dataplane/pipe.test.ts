/**
 * ctx.infer in-process (dataplane/pipe.ts): two or more TS wrappers in one data plane, one calling
 * another through it.
 */
import { describe, expect, it } from 'vitest';
import { type AigesError, Codes, defineWrapper, isAigesError, pluginError, ResultQueue, tensorData } from '../../plugins/index.js';
import type { CallContext, DataItem } from '../../plugins/types.js';
import tensorScale from '../fixtures/plugins/tensor-scale.js';
import { client, collect, gate, makePlane } from './helpers.js';

const text = (key: string, data: string): DataItem => ({
  key,
  type: 0,
  status: 3,
  encoding: '',
  attributes: {},
  data: Buffer.from(data),
});

/** Calls tensor-scale with x = [1, 2, 3] and answers its y, plus whether the callee saw the caller's own memory. */
function scaler(seen: { buffer?: ArrayBufferLike }) {
  return defineWrapper({
    id: 'scaler',
    schema: { input: { text: { type: 'text' } }, output: { y: { type: 'other', datatype: 'FP32' } } },
    async exec(_request, ctx) {
      const x = new Float32Array([1, 2, 3]);
      seen.buffer = x.buffer;
      const answer = await ctx.infer('tensor-scale', { inputs: [{ name: 'x', datatype: 'FP32', shape: [3], data: x }] });
      const y = answer.tensor('y', 'FP32');
      return [{ key: 'y', data: tensorData(y), tensor: { datatype: 'FP32', shape: [y.length] } }];
    },
  });
}

/** A service that waits for its signal and records why it fired. */
function waiter(started: () => void, reasons: unknown[]) {
  return defineWrapper({
    id: 'waiter',
    schema: { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } },
    exec(_request, ctx) {
      started();
      return new Promise<never>((_, reject) =>
        ctx.signal.addEventListener('abort', () => {
          reasons.push(ctx.signal.reason);
          reject(ctx.signal.reason);
        }),
      );
    },
  });
}

/** Calls `service` with the request's items as they came, and answers what it answered (or rethrows). */
function caller(id: string, service: string, options: { timeoutMs?: number; catch?: boolean } = {}) {
  return defineWrapper({
    id,
    schema: { input: { '*': { type: 'text' } }, output: { '*': { type: 'text' } } },
    async exec(request, ctx) {
      try {
        const answer = await ctx.infer(service, { items: request.items }, { timeoutMs: options.timeoutMs });
        return answer.items;
      } catch (err) {
        if (options.catch !== true) throw err;
        return [{ key: 'code', data: String((err as AigesError).aigesCode) }];
      }
    },
  });
}

describe('ctx.infer in-process', () => {
  it('A sends an FP32 tensor to B and reads B’s FP32 output; B sees the caller’s memory, not a copy', async () => {
    const seen: { buffer?: ArrayBufferLike } = {};
    let calleeBuffer: ArrayBufferLike | undefined;
    const spy = defineWrapper({
      ...tensorScale,
      exec(request, ctx) {
        calleeBuffer = request.items[0]?.data.buffer;
        return tensorScale.exec!(request, ctx as CallContext<undefined>);
      },
    });
    const p = await makePlane(scaler(seen), { more: [{ wrapper: spy }] });
    const [out] = await p.dataplane.infer({ service: 'scaler', params: {}, headers: {}, items: [text('text', 'go')] });
    expect(out?.tensor).toEqual({ datatype: 'FP32', shape: [3] });
    expect([...new Float32Array(out!.data.buffer, out!.data.byteOffset, 3)]).toEqual([10, 20, 30]);
    expect(calleeBuffer).toBe(seen.buffer);
  });

  it('items without a type get the type the callee declares; params go as strings', async () => {
    const echoParams = defineWrapper({
      id: 'b',
      schema: {
        input: { text: { type: 'text' } },
        output: { text: { type: 'text' } },
        params: { n: { type: 'integer', default: 1 } },
      },
      exec: (request) => [{ key: 'text', data: `${request.items[0]?.data.toString()}×${request.params['n']}` }],
    });
    const a = defineWrapper({
      id: 'a',
      schema: { input: { go: { type: 'other' } }, output: { text: { type: 'text' } } },
      async exec(_request, ctx) {
        const answer = await ctx.infer('b', { items: [{ key: 'text', data: 'hi' }], params: { n: 3 } });
        return [answer.item('text')];
      },
    });
    const p = await makePlane(a, { more: [{ wrapper: echoParams }] });
    const [out] = await p.dataplane.infer({ service: 'a', params: {}, headers: {}, items: [{ ...text('go', ''), type: 4 }] });
    expect(out?.data.toString()).toBe('hi×3');
  });

  it('B’s error code reaches A, and a rethrow passes it on to A’s client unchanged', async () => {
    const failing = defineWrapper({
      id: 'failing',
      schema: { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } },
      exec(request) {
        if (request.items[0]?.data.toString() === 'bad') throw pluginError('invalid-value', 'no bad input');
        throw new Error('broken model');
      },
    });
    const p = await makePlane(caller('a', 'failing', { catch: true }), {
      more: [{ wrapper: failing }, { wrapper: caller('rethrows', 'failing') }, { wrapper: caller('lost', 'nowhere') }],
    });
    const [code] = await p.dataplane.infer({ service: 'a', params: {}, headers: {}, items: [text('text', 'bad')] });
    expect(code?.data.toString()).toBe(String(Codes.INVALID_PARAM_VALUE));
    const [crash] = await p.dataplane.infer({ service: 'a', params: {}, headers: {}, items: [text('text', 'x')] });
    expect(crash?.data.toString()).toBe(String(Codes.PLUGIN_EXEC));

    const rethrown = await p.dataplane
      .infer({ service: 'rethrows', params: {}, headers: {}, items: [text('text', 'x')] })
      .catch((err: unknown) => err);
    expect(isAigesError(rethrown) && rethrown.aigesCode).toBe(Codes.PLUGIN_EXEC);
    expect((rethrown as AigesError).message).toMatch(/service "failing": plugin exec failed: broken model/);
    expect((rethrown as AigesError).detail).toMatchObject({ service: 'failing' });

    // 10200 is no code a plugin's own throw keeps; from ctx.infer it passes through.
    await expect(p.dataplane.infer({ service: 'lost', params: {}, headers: {}, items: [text('text', 'x')] })).rejects.toMatchObject({
      aigesCode: Codes.SERVICE_NOT_FOUND,
    });
    expect(await p.requests({ service: 'failing', mode: 'once', code: Codes.INVALID_PARAM_VALUE })).toBe(1);
  });

  it('A’s deadline bounds B: B hangs, A’s client gets 10102 and B’s signal fires', async () => {
    const reasons: unknown[] = [];
    const p = await makePlane(caller('a', 'waiter'), { more: [{ wrapper: waiter(() => undefined, reasons) }] });
    const err = await p.dataplane
      .infer({ service: 'a', params: {}, headers: {}, items: [text('text', 'x')] }, { deadline: Date.now() + 50 })
      .catch((e: unknown) => e);
    expect((err as AigesError).aigesCode).toBe(Codes.EXEC_TIMEOUT);
    await expect.poll(() => reasons.length).toBe(1);
    expect((reasons[0] as AigesError).aigesCode).toBe(Codes.EXEC_TIMEOUT);
  });

  it('a shorter timeoutMs ends B first; A handles the 10102 and answers', async () => {
    const reasons: unknown[] = [];
    const p = await makePlane(caller('a', 'waiter', { timeoutMs: 20, catch: true }), {
      more: [{ wrapper: waiter(() => undefined, reasons) }],
    });
    const [out] = await p.dataplane.infer(
      { service: 'a', params: {}, headers: {}, items: [text('text', 'x')] },
      { deadline: Date.now() + 60_000 },
    );
    expect(out?.data.toString()).toBe(String(Codes.EXEC_TIMEOUT));
    expect((reasons[0] as AigesError).aigesCode).toBe(Codes.EXEC_TIMEOUT);
  });

  it('the client’s cancel of A cancels B (10202 on B’s signal)', async () => {
    const reasons: unknown[] = [];
    const started = gate();
    const p = await makePlane(caller('a', 'waiter'), { more: [{ wrapper: waiter(started.open, reasons) }] });
    const c = client();
    const call = p.dataplane.infer({ service: 'a', params: {}, headers: {}, items: [text('text', 'x')] }, c.options);
    await started.promise;
    c.cancel();
    await expect(call).rejects.toMatchObject({ aigesCode: Codes.CANCELLED });
    await expect.poll(() => reasons.length).toBe(1);
    expect((reasons[0] as AigesError).aigesCode).toBe(Codes.CANCELLED);
    await expect.poll(() => p.requests({ service: 'waiter', mode: 'once', code: Codes.CANCELLED })).toBe(1);
  });

  it('a service calling itself in a loop is stopped at depth 8 (10211), counted under its service', async () => {
    let execs = 0;
    const loop = defineWrapper({
      id: 'loop',
      schema: { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } },
      async exec(request, ctx) {
        execs++;
        return (await ctx.infer('loop', { items: request.items })).items;
      },
    });
    const p = await makePlane(loop, { limits: { capacity: 1 }, concurrency: 16 });
    const err = (await p.dataplane
      .infer({ service: 'loop', params: {}, headers: {}, items: [text('text', 'x')] })
      .catch((e: unknown) => e)) as AigesError;
    expect(err.aigesCode).toBe(Codes.PIPELINE_DEPTH);
    expect(execs).toBe(9); // the client's call and 8 nested ones
    expect(err.message).toMatch(/^service "loop": ctx.infer nests deeper than 8 calls/);
    // The refused 10th call, and the 9 that rethrew its error.
    expect(await p.requests({ service: 'loop', mode: 'once', code: Codes.PIPELINE_DEPTH })).toBe(10);
    expect(p.dataplane.admission.inUse).toBe(0);
  });

  it('A calling A with its last exec slot held by itself is refused at once (10110), never waits', async () => {
    const self = caller('self', 'self');
    const p = await makePlane(self, { concurrency: 1 });
    const err = await p.dataplane
      .infer({ service: 'self', params: {}, headers: {}, items: [text('text', 'x')] }, { deadline: Date.now() + 60_000 })
      .catch((e: unknown) => e);
    expect((err as AigesError).aigesCode).toBe(Codes.CAPACITY);
    expect((err as AigesError).message).toMatch(/waiting would deadlock/);
    expect(p.instance.execSlots.available).toBe(1);
  });

  it('inner calls take no admission slot and count under the callee’s service', async () => {
    const p = await makePlane(scaler({}), { limits: { capacity: 1 }, more: [{ wrapper: tensorScale }] });
    await p.dataplane.infer({ service: 'scaler', params: {}, headers: {}, items: [text('text', 'go')] });
    expect(await p.requests({ service: 'tensor-scale', mode: 'once', code: 0 })).toBe(1);
    expect(await p.requests({ service: 'scaler', mode: 'once', code: 0 })).toBe(1);
    expect(p.dataplane.admission.inUse).toBe(0);
  });

  it('a draining loader refuses new clients (10101) but lets an admitted pipeline call on', async () => {
    const go = gate();
    const started = gate();
    const a = defineWrapper({
      id: 'a',
      schema: { input: { text: { type: 'text' } }, output: { y: { type: 'other' } } },
      async exec(_request, ctx) {
        started.open();
        await go.promise;
        const answer = await ctx.infer('tensor-scale', {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array([2]) }],
        });
        return [answer.item('y')];
      },
    });
    const p = await makePlane(a, { more: [{ wrapper: tensorScale }] });
    const call = p.dataplane.infer({ service: 'a', params: {}, headers: {}, items: [text('text', 'x')] });
    await started.promise;
    p.dataplane.stopAccepting();
    await expect(p.dataplane.infer({ service: 'a', params: {}, headers: {}, items: [text('text', 'x')] })).rejects.toMatchObject({
      aigesCode: Codes.INSTANCE_INACTIVE,
    });
    go.open();
    const [y] = await call;
    expect([...new Float32Array(y!.data.buffer, y!.data.byteOffset, 1)]).toEqual([20]);
  });

  it('a session’s plugin calls services too; the session’s end ends a call still running (10202)', async () => {
    const reasons: unknown[] = [];
    const started = gate();
    const per = defineWrapper({
      id: 'per-frame',
      schema: { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } },
      session: {
        create(_params, ctx) {
          const results = new ResultQueue();
          return {
            results,
            write(items) {
              const service = items[0]?.data.toString() === 'hang' ? 'waiter' : 'b';
              ctx.infer(service, { items: [{ key: 'text', data: items[0]!.data }] }).then(
                (answer) => results.push(answer.items.map((i) => ({ ...i, status: 1 as const }))),
                () => undefined,
              );
            },
          };
        },
      },
    });
    const b = defineWrapper({
      id: 'b',
      schema: { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } },
      exec: (request) => [{ key: 'text', data: request.items[0]!.data.toString().toUpperCase() }],
    });
    const p = await makePlane(per, { more: [{ wrapper: b }, { wrapper: waiter(started.open, reasons) }] });
    const session = await p.dataplane.openSession({ service: 'per-frame', params: {}, headers: {} });
    const results = collect(session);
    await session.write([{ ...text('text', 'hi'), status: 0 }]);
    await session.write([{ ...text('text', 'hang'), status: 1 }]);
    await started.promise;
    session.cancel();
    await expect(results).rejects.toMatchObject({ aigesCode: Codes.CANCELLED });
    await expect.poll(() => reasons.length).toBe(1);
    expect((reasons[0] as AigesError).aigesCode).toBe(Codes.CANCELLED);
    expect(await p.requests({ service: 'b', mode: 'once', code: 0 })).toBe(1);
  });

  it('a timeoutMs that is no number ≥ 0 is refused (10003)', async () => {
    const a = defineWrapper({
      id: 'a',
      schema: { input: { text: { type: 'text' } }, output: { code: { type: 'text' } } },
      async exec(request, ctx) {
        const err = await ctx.infer('a', { items: request.items }, { timeoutMs: Number.NaN }).catch((e: unknown) => e);
        return [{ key: 'code', data: String((err as AigesError).aigesCode) }];
      },
    });
    const p = await makePlane(a);
    const [out] = await p.dataplane.infer({ service: 'a', params: {}, headers: {}, items: [text('text', 'x')] });
    expect(out?.data.toString()).toBe(String(Codes.INVALID_OP));
  });

  it('a call to another loader without a way there is refused (10003)', async () => {
    const p = await makePlane(caller('a', 'b', { catch: true }));
    const remote = defineWrapper({
      id: 'r',
      schema: { input: { text: { type: 'text' } }, output: { code: { type: 'text' } } },
      async exec(request, ctx) {
        p.dataplane.pipes.remote = undefined;
        const err = await ctx.infer('b', { items: request.items }, { address: '127.0.0.1:1' }).catch((e: unknown) => e);
        return [{ key: 'code', data: String((err as AigesError).aigesCode) }];
      },
    });
    await p.registry.loadWrapper(remote, { config: {}, concurrency: 1, initTimeoutMs: 5_000 });
    const [out] = await p.dataplane.infer({ service: 'r', params: {}, headers: {}, items: [text('text', 'x')] });
    expect(out?.data.toString()).toBe(String(Codes.INVALID_OP));
  });
});
