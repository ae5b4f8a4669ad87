/**
 * Dynamic batching through the data plane (loader/dataplane/batcher.ts): requests merged into
 * fewer execs, each answered with its own rows; the max batch size and queue delay; deadlines and
 * cancels while queued or running; a failing batch; shapes that cannot merge; the metrics.
 * Execs are counted by the test wrapper; nothing is timed.
 */
import { describe, expect, it, vi } from 'vitest';
import { Codes } from '../../loader/errors.js';
import type { BatchingConfig } from '../../loader/config/schema.js';
import { batchCut } from '../../loader/dataplane/batcher.js';
import { onContextEnd } from '../../loader/dataplane/context.js';
import type { DataplaneLimits } from '../../loader/dataplane/dataplane.js';
import { defineWrapper, pluginError } from '../../plugins/index.js';
import { item } from '../../plugins/testing.js';
import { tensorData, typedArrayOf } from '../../plugins/tensor.js';
import {
  type BatchingSettings,
  type CallContext,
  DataStatus,
  DataType,
  type DataItem,
  type InferRequest,
  type OutputItem,
  type RawRequest,
} from '../../plugins/types.js';
import { client, type Gate, gate, makePlane } from './helpers.js';

/** A request of `rows` rows of FP32 values (the row's values are `seed + i`). */
function rowsReq(rows: number, width = 2, seed = 0, sid?: string): RawRequest {
  const values = Float32Array.from({ length: rows * width }, (_, i) => seed + i);
  const x: DataItem = {
    key: 'x',
    type: DataType.OTHER,
    status: DataStatus.ONCE,
    encoding: '',
    attributes: {},
    data: tensorData(values),
    tensor: { datatype: 'FP32', shape: [rows, width] },
  };
  return { service: 'doubler', params: sid === undefined ? {} : { sid }, headers: {}, items: [x] };
}

/** What a call got: its y's shape and values. */
function answer(out: DataItem[]): { shape: number[]; values: number[] } {
  const y = out[0]!;
  return { shape: y.tensor!.shape, values: [...(typedArrayOf('FP32', y.data) as Float32Array)] };
}

function expected(rows: number, width = 2, seed = 0): { shape: number[]; values: number[] } {
  return { shape: [rows, width], values: Array.from({ length: rows * width }, (_, i) => 2 * (seed + i)) };
}

interface Doubler {
  /** Each exec's request shape (rows first), in order. */
  runs: number[][];
  /** Each exec's ctx. */
  contexts: CallContext<unknown>[];
}

/**
 * A tensor wrapper answering y = 2x, with batching on; it records each exec. `hold` (if given)
 * holds exec number n until the gate opens; `answer` replaces the output.
 */
function doubler(
  options: {
    batching?: BatchingSettings | undefined;
    hold?: (run: number) => Gate | undefined;
    output?: (request: InferRequest) => OutputItem[];
  } = {},
) {
  const seen: Doubler = { runs: [], contexts: [] };
  const wrapper = defineWrapper({
    id: 'doubler',
    schema: {
      input: { x: { type: 'other', datatype: 'FP32', shape: [-1, -1] } },
      output: { y: { type: 'other', datatype: 'FP32' } },
    },
    ...(options.batching === undefined ? {} : { batching: options.batching }),
    async exec(request, ctx) {
      const x = request.items[0]!;
      seen.runs.push(x.tensor!.shape);
      seen.contexts.push(ctx);
      const held = options.hold?.(seen.runs.length);
      if (held !== undefined) await held.promise;
      if (options.output !== undefined) return options.output(request);
      const doubled = (typedArrayOf('FP32', x.data) as Float32Array).map((v) => v * 2);
      return [{ key: 'y', data: tensorData(doubled), tensor: x.tensor }];
    },
  });
  return { wrapper, seen };
}

async function plane(
  options: Parameters<typeof doubler>[0] & { concurrency?: number; config?: BatchingConfig; limits?: Partial<DataplaneLimits> } = {},
) {
  const { wrapper, seen } = doubler({ batching: { maxBatchSize: 4, maxQueueDelayMs: 0 }, ...options });
  const p = await makePlane(wrapper, {
    concurrency: options.concurrency ?? 1,
    ...(options.config ? { batching: options.config } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  return { ...p, seen };
}

describe('batch cuts', () => {
  const cut = (rows: number[], maxBatchSize: number, preferredBatchSizes: number[] = []) =>
    batchCut(
      rows.map((n) => ({ rows: n })),
      { maxBatchSize, preferredBatchSizes },
    );

  it('a batch takes the oldest calls that fit in the max batch size, at least one', () => {
    expect(cut([1, 1, 1], 4)).toEqual({ full: 3, preferred: 0 });
    expect(cut([3, 2, 1], 4)).toEqual({ full: 1, preferred: 0 });
    expect(cut([2, 2, 2], 4)).toEqual({ full: 2, preferred: 0 });
    expect(cut([6, 1], 4)).toEqual({ full: 1, preferred: 0 });
  });

  it('the longest prefix that adds up to a preferred size, if any', () => {
    expect(cut([1, 1, 1, 1, 1, 1], 8, [4])).toEqual({ full: 6, preferred: 4 });
    expect(cut([1, 1, 1, 1, 1, 1, 1, 1, 1], 8, [2, 4, 8])).toEqual({ full: 8, preferred: 8 });
    expect(cut([3, 3, 3], 8, [4, 8])).toEqual({ full: 2, preferred: 0 });
    expect(cut([2, 3], 8, [2])).toEqual({ full: 2, preferred: 1 });
  });
});

describe('dynamic batching', () => {
  it('concurrent requests merge into fewer execs of at most maxBatchSize rows; each call gets its own rows', async () => {
    const { dataplane, instance, seen } = await plane();
    const calls = Array.from({ length: 8 }, (_, i) => dataplane.infer(rowsReq(1, 2, 10 * i)));
    const outs = await Promise.all(calls);
    expect(seen.runs).toEqual([
      [4, 2],
      [4, 2],
    ]);
    for (const [i, out] of outs.entries()) expect(answer(out)).toEqual(expected(1, 2, 10 * i));
    expect(dataplane.admission.inUse).toBe(0);
    expect(instance.execSlots.available).toBe(1);
    expect(instance.users).toBe(0);
  });

  it('a batch stops before it would pass maxBatchSize; a request larger than it runs on its own', async () => {
    const { dataplane, seen } = await plane();
    const rows = [3, 2, 1, 6, 1];
    const outs = await Promise.all(rows.map((n, i) => dataplane.infer(rowsReq(n, 2, 100 * i))));
    expect(seen.runs.map((s) => s[0])).toEqual([3, 3, 6, 1]);
    for (const [i, out] of outs.entries()) expect(answer(out)).toEqual(expected(rows[i]!, 2, 100 * i));
  });

  it('maxQueueDelayMs runs a partial batch once its oldest request has waited that long', async () => {
    const { dataplane, seen } = await plane({ batching: { maxBatchSize: 8, maxQueueDelayMs: 20 } });
    const outs = await Promise.all([0, 1, 2].map((i) => dataplane.infer(rowsReq(1, 2, i))));
    expect(seen.runs).toEqual([[3, 2]]);
    for (const [i, out] of outs.entries()) expect(answer(out)).toEqual(expected(1, 2, i));
  });

  it('preferred batch sizes: a prefix that adds up to one runs at once, without the queue delay; the rest waits for it', async () => {
    const { dataplane, seen } = await plane({ batching: { maxBatchSize: 8, maxQueueDelayMs: 20, preferredBatchSizes: [2] } });
    const outs = await Promise.all([0, 1, 2, 3, 4].map((i) => dataplane.infer(rowsReq(1, 2, i))));
    expect(seen.runs.map((s) => s[0])).toEqual([2, 2, 1]);
    for (const [i, out] of outs.entries()) expect(answer(out)).toEqual(expected(1, 2, i));
  });

  it('requests that come while every exec slot is busy wait without a slot and fill the next batch', async () => {
    const first = gate();
    const { dataplane, instance, seen } = await plane({ hold: (n) => (n === 1 ? first : undefined) });
    const running = dataplane.infer(rowsReq(1, 2, 0));
    await vi.waitFor(() => expect(seen.runs).toHaveLength(1));
    const queued = [1, 2, 3, 4, 5].map((i) => dataplane.infer(rowsReq(1, 2, i)));
    // Each request is admitted; only the running batch holds the one exec slot.
    expect(dataplane.admission.inUse).toBe(6);
    expect(instance.execSlots.available).toBe(0);
    first.open();
    const outs = await Promise.all([running, ...queued]);
    expect(seen.runs.map((s) => s[0])).toEqual([1, 4, 1]);
    for (const [i, out] of outs.entries()) expect(answer(out)).toEqual(expected(1, 2, i));
    expect(instance.execSlots.available).toBe(1);
  });

  it('a request whose deadline passes while queued is answered 10102 and never runs; the others do', async () => {
    const first = gate();
    const { dataplane, instance, seen } = await plane({ hold: (n) => (n === 1 ? first : undefined) });
    const running = dataplane.infer(rowsReq(1));
    await vi.waitFor(() => expect(seen.runs).toHaveLength(1));
    const late = dataplane.infer(rowsReq(2), { deadline: Date.now() + 30 });
    const patient = dataplane.infer(rowsReq(3, 2, 7));
    await expect(late).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    first.open();
    expect(answer(await patient)).toEqual(expected(3, 2, 7));
    await running;
    expect(seen.runs.map((s) => s[0])).toEqual([1, 3]);
    expect(dataplane.admission.inUse).toBe(0);
    expect(instance.users).toBe(0);
  });

  it("a client's cancel while queued answers 10202 and takes the request out of its batch", async () => {
    const first = gate();
    const { dataplane, seen } = await plane({ hold: (n) => (n === 1 ? first : undefined) });
    const running = dataplane.infer(rowsReq(1));
    await vi.waitFor(() => expect(seen.runs).toHaveLength(1));
    const c = client();
    const cancelled = dataplane.infer(rowsReq(2), c.options);
    const kept = dataplane.infer(rowsReq(1, 2, 5));
    c.cancel();
    await expect(cancelled).rejects.toMatchObject({ aigesCode: Codes.CANCELLED });
    first.open();
    expect(answer(await kept)).toEqual(expected(1, 2, 5));
    await running;
    expect(seen.runs.map((s) => s[0])).toEqual([1, 1]);
  });

  it('a call whose deadline passes while its batch runs is answered 10102; the others get their rows; ctx.signal waits for all', async () => {
    const first = gate();
    const { dataplane, instance, seen } = await plane({ hold: (n) => (n === 1 ? first : undefined) });
    const short = dataplane.infer(rowsReq(1, 2, 0), { deadline: Date.now() + 100 });
    const long = dataplane.infer(rowsReq(1, 2, 3));
    const shortAnswered = expect(short).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    await vi.waitFor(() => expect(seen.contexts).toHaveLength(1), { interval: 1 });
    const heard: unknown[] = [];
    onContextEnd(seen.contexts[0]!, (reason) => heard.push(reason));
    await shortAnswered;
    expect(seen.runs).toEqual([[2, 2]]);
    expect(seen.contexts[0]?.signal.aborted).toBe(false);
    expect(heard).toEqual([]);
    first.open();
    expect(answer(await long)).toEqual(expected(1, 2, 3));
    expect(instance.execSlots.available).toBe(1);
  });

  it('when every call of a running batch is gone, its ctx.signal fires and its slot comes back when it returns', async () => {
    const first = gate();
    const { dataplane, instance, seen } = await plane({ hold: (n) => (n === 1 ? first : undefined) });
    const deadline = Date.now() + 100;
    const calls = [0, 1].map((i) =>
      expect(dataplane.infer(rowsReq(1, 2, i), { deadline })).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT }),
    );
    await vi.waitFor(() => expect(seen.contexts).toHaveLength(1), { interval: 1 });
    const heard: unknown[] = [];
    onContextEnd(seen.contexts[0]!, (reason) => heard.push(reason));
    await Promise.all(calls);
    expect(heard).toEqual([expect.objectContaining({ aigesCode: Codes.EXEC_TIMEOUT })]);
    expect(seen.contexts[0]?.signal.aborted).toBe(true);
    expect((seen.contexts[0]!.signal.reason as { aigesCode?: number }).aigesCode).toBe(Codes.EXEC_TIMEOUT);
    expect(instance.execSlots.available).toBe(0);
    first.open();
    await vi.waitFor(() => expect(instance.execSlots.available).toBe(1));
    expect(instance.users).toBe(0);
  });

  it('an abandoned batch counts as one stuck exec (it holds one slot), until it returns', async () => {
    const first = gate();
    const { dataplane, instance, seen } = await plane({ hold: (n) => (n === 1 ? first : undefined), limits: { hang_grace_ms: 20 } });
    const deadline = Date.now() + 30;
    const calls = [0, 1, 2].map((i) => dataplane.infer(rowsReq(1, 2, i), { deadline }));
    for (const c of calls) await expect(c).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    expect(seen.runs).toEqual([[3, 2]]);
    await vi.waitFor(() => expect(instance.stuck).toBe(1));
    // Its one exec slot is held by a stuck exec: the set cannot serve.
    expect(instance.ready).toBe(false);
    first.open();
    await vi.waitFor(() => expect(instance.stuck).toBe(0));
    expect(instance.ready).toBe(true);
    expect(instance.execSlots.available).toBe(1);
  });

  it('a batch whose exec throws fails each of its calls with the same code, each under its own sid', async () => {
    const { dataplane, seen } = await plane({
      output: () => {
        throw new Error('model exploded');
      },
    });
    const sids = ['a', 'b', 'c'];
    const results = await Promise.allSettled(sids.map((sid) => dataplane.infer(rowsReq(1, 2, 0, sid))));
    expect(seen.runs).toEqual([[3, 2]]);
    for (const [i, r] of results.entries()) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        aigesCode: Codes.PLUGIN_EXEC,
        sid: sids[i],
        message: expect.stringContaining('model exploded'),
      });
    }
  });

  it("a plugin's coded rejection of a batch reaches each call with its code", async () => {
    const { dataplane } = await plane({
      output: () => {
        throw pluginError('invalid-value', 'values out of range');
      },
    });
    const results = await Promise.allSettled(['a', 'b'].map((sid) => dataplane.infer(rowsReq(1, 2, 0, sid))));
    expect(results.map((r) => (r as PromiseRejectedResult).reason?.aigesCode)).toEqual([
      Codes.INVALID_PARAM_VALUE,
      Codes.INVALID_PARAM_VALUE,
    ]);
    expect(results.map((r) => (r as PromiseRejectedResult).reason?.sid)).toEqual(['a', 'b']);
  });

  it('an output that cannot be cut into the batch rows fails each call with 10203', async () => {
    const { dataplane, instance } = await plane({
      output: () => [{ key: 'y', data: Buffer.alloc(4), tensor: { datatype: 'FP32', shape: [1] } }],
    });
    const results = await Promise.allSettled([0, 1].map((i) => dataplane.infer(rowsReq(1, 2, i))));
    expect(results.map((r) => (r as PromiseRejectedResult).reason?.aigesCode)).toEqual([Codes.INVALID_OUTPUT, Codes.INVALID_OUTPUT]);
    expect(instance.execSlots.available).toBe(1);
  });

  it('requests whose shapes differ past the first dimension run in separate batches', async () => {
    const { dataplane, seen } = await plane({ concurrency: 2 });
    const widths = [2, 3, 2, 3, 3];
    const outs = await Promise.all(widths.map((w, i) => dataplane.infer(rowsReq(1, w, i))));
    expect(seen.runs.map((s) => s.join('x')).sort()).toEqual(['2x2', '3x3']);
    for (const [i, out] of outs.entries()) expect(answer(out)).toEqual(expected(1, widths[i]!, i));
  });

  it('a request that cannot merge (plain items) runs at once, unqueued, whatever the queue delay', async () => {
    const wrapper = defineWrapper({
      id: 'plain',
      schema: { input: { '*': { type: 'text', required: false } }, output: { '*': { type: 'text' } } },
      batching: { maxBatchSize: 4, maxQueueDelayMs: 600_000 },
      exec: (request) => request.items,
    });
    const { dataplane, metrics } = await makePlane(wrapper, { concurrency: 1 });
    const out = await dataplane.infer({ service: 'plain', params: {}, headers: {}, items: [item('text', 'as it came')] });
    expect(out[0]?.data.toString()).toBe('as it came');
    expect(metrics.of('plain').batches).toBe(0);
  });

  it("one request's bad input is refused before batching and never fails the others", async () => {
    const { dataplane, seen } = await plane();
    const bad = rowsReq(1);
    bad.items[0]!.tensor = { datatype: 'INT32', shape: [1, 2] };
    const results = await Promise.allSettled([dataplane.infer(rowsReq(1, 2, 0)), dataplane.infer(bad), dataplane.infer(rowsReq(1, 2, 5))]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ aigesCode: Codes.INVALID_PARAM });
    expect(answer((results[0] as PromiseFulfilledResult<DataItem[]>).value)).toEqual(expected(1, 2, 0));
    expect(answer((results[2] as PromiseFulfilledResult<DataItem[]>).value)).toEqual(expected(1, 2, 5));
    expect(seen.runs).toEqual([[2, 2]]);
  });

  it('a drain ends queued calls with 10101; nothing is left queued or admitted', async () => {
    const first = gate();
    const { dataplane, instance, seen } = await plane({ hold: (n) => (n === 1 ? first : undefined) });
    const running = dataplane.infer(rowsReq(1));
    await vi.waitFor(() => expect(seen.runs).toHaveLength(1));
    const queued = [1, 2].map((i) => dataplane.infer(rowsReq(1, 2, i)));
    const drained = dataplane.drain(20);
    for (const c of [running, ...queued]) await expect(c).rejects.toMatchObject({ aigesCode: Codes.INSTANCE_INACTIVE });
    expect(await drained).toBe(false);
    first.open();
    await vi.waitFor(() => expect(instance.users).toBe(0));
    expect(seen.runs).toHaveLength(1);
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('[plugin.batching] overrides the plugin: max_batch_size 0 turns batching off; a size turns it on for any plugin', async () => {
    const off = await plane({ concurrency: 4, config: { max_batch_size: 0 } });
    await Promise.all([0, 1, 2, 3].map((i) => off.dataplane.infer(rowsReq(1, 2, i))));
    expect(off.seen.runs.map((s) => s[0])).toEqual([1, 1, 1, 1]);
    expect(off.instance.batching).toBeUndefined();

    const on = await plane({ batching: undefined, config: { max_batch_size: 3, max_queue_delay_ms: 0 } });
    expect(on.instance.batching).toEqual({ maxBatchSize: 3, maxQueueDelayMs: 0, preferredBatchSizes: [] });
    await Promise.all([0, 1, 2].map((i) => on.dataplane.infer(rowsReq(1, 2, i))));
    expect(on.seen.runs.map((s) => s[0])).toEqual([3]);
  });

  it('batches, their sizes and queue delays are in the metrics', async () => {
    const { dataplane, metrics } = await plane();
    await Promise.all(Array.from({ length: 6 }, (_, i) => dataplane.infer(rowsReq(1, 2, i))));
    const text = await metrics.registry.metrics();
    expect(text).toContain('aiges_batches_total{service="doubler"} 2');
    expect(text).toContain('aiges_batch_size_count{service="doubler"} 2');
    expect(text).toContain('aiges_batch_size_sum{service="doubler"} 6');
    expect(text).toContain('aiges_batch_size_bucket{le="4",service="doubler"} 2');
    expect(text).toContain('aiges_batch_queue_delay_seconds_count{service="doubler"} 6');
  });

  it('defineWrapper refuses bad batching settings', () => {
    const schema = { input: {}, output: {} };
    const exec = () => [];
    expect(() => defineWrapper({ id: 'b', schema, exec, batching: { maxBatchSize: -1 } })).toThrow(/maxBatchSize/);
    expect(() => defineWrapper({ id: 'b', schema, exec, batching: { maxBatchSize: 4, maxQueueDelayMs: -2 } })).toThrow(/maxQueueDelayMs/);
    expect(() => defineWrapper({ id: 'b', schema, exec, batching: { maxBatchSize: 4, preferredBatchSizes: [0] } })).toThrow(
      /preferredBatchSizes/,
    );
    expect(() =>
      defineWrapper({
        id: 'b',
        schema,
        session: { create: () => ({ write() {}, results: (async function* () {})() }) },
        batching: { maxBatchSize: 4 },
      }),
    ).toThrow(/batching needs exec/);
  });
});

describe('dynamic batching and ctx.infer', () => {
  it("a batch's exec calls another service once for the whole batch; each call gets its own rows", async () => {
    const tripled: number[][] = [];
    const tripler = defineWrapper({
      id: 'tripler',
      schema: {
        input: { x: { type: 'other', datatype: 'FP32', shape: [-1, -1] } },
        output: { y: { type: 'other', datatype: 'FP32' } },
      },
      exec(request) {
        const x = request.items[0]!;
        tripled.push(x.tensor!.shape);
        const out = (typedArrayOf('FP32', x.data) as Float32Array).map((v) => v * 3);
        return [{ key: 'y', data: tensorData(out), tensor: x.tensor }];
      },
    });
    // The batched service hands its merged rows to `tripler` and answers what it got back.
    const { wrapper, seen } = doubler({
      batching: { maxBatchSize: 4, maxQueueDelayMs: 600_000 },
      output: () => [],
    });
    const piped = defineWrapper({
      ...wrapper,
      async exec(request, ctx) {
        seen.runs.push(request.items[0]!.tensor!.shape);
        const got = await ctx.infer('tripler', { items: [request.items[0]!] });
        const y = got.item('y');
        return [{ key: 'y', data: y.data, tensor: y.tensor }];
      },
    });
    const { dataplane } = await makePlane(piped, { concurrency: 1, more: [{ wrapper: tripler }] });
    const outs = await Promise.all(Array.from({ length: 4 }, (_, i) => dataplane.infer(rowsReq(1, 2, 10 * i))));
    expect(seen.runs).toEqual([[4, 2]]);
    expect(tripled).toEqual([[4, 2]]);
    for (const [i, out] of outs.entries()) {
      expect(answer(out)).toEqual({ shape: [1, 2], values: [30 * i, 30 * i + 3] });
    }
    expect(dataplane.admission.inUse).toBe(0);
  });
});
