import { afterEach, describe, expect, it, vi } from 'vitest';
import { Codes } from '../../loader/errors.js';
import { defineWrapper, ResultQueue } from '../../plugins/index.js';
import { item } from '../../plugins/testing.js';
import { DataStatus, DataType, type CallContext, type DataItem, type RawRequest } from '../../plugins/types.js';
import echo from '../../demo/echo/wrapper.js';
import slow, { slowStats } from '../fixtures/plugins/slow.js';
import throws from '../fixtures/plugins/throws.js';
import hangs from '../fixtures/plugins/hangs.js';
import { client, collect, gate, makePlane } from './helpers.js';

const text = { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } } as const;

function req(service: string, items: DataItem[], params: Record<string, string> = {}): RawRequest {
  return { service, params, headers: {}, items };
}

/** A plugin whose exec waits on the gate the test hands it, and tells when it started. */
function gated() {
  const state = { started: gate(), release: gate(), calls: 0 };
  const wrapper = defineWrapper({
    id: 'gated',
    schema: text,
    async exec(request) {
      state.calls++;
      state.started.open();
      await state.release.promise;
      return request.items;
    },
    session: {
      create() {
        const results = new ResultQueue();
        return { write: (items) => results.push(items), end: () => results.close(), results };
      },
    },
  });
  return { state, wrapper };
}

/** A plugin that records how many execs overlap. */
function overlapping() {
  const stats = { active: 0, max: 0, ran: 0 };
  const wrapper = defineWrapper({
    id: 'overlap',
    schema: text,
    async exec(request) {
      stats.active++;
      stats.ran++;
      stats.max = Math.max(stats.max, stats.active);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return request.items;
      } finally {
        stats.active--;
      }
    },
  });
  return { stats, wrapper };
}

afterEach(async () => {
  // The slow fixture ignores its abort signal; let an abandoned exec finish before the next test.
  await vi.waitFor(() => expect(slowStats().running).toBe(0), { timeout: 3_000 });
});

describe('Dataplane.infer (once mode)', () => {
  it('runs the plugin and returns its output, passing input buffers through without copying', async () => {
    const { dataplane } = await makePlane(echo);
    const input = item('text', 'hello', { encoding: 'utf8', attributes: { lang: 'en' } });
    const out = await dataplane.infer(req('echo', [input]));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      key: 'text',
      type: DataType.TEXT,
      status: DataStatus.ONCE,
      encoding: 'utf8',
      attributes: { lang: 'en' },
    });
    expect(out[0]?.data.toString()).toBe('hello');
    expect(out[0]?.data).toBe(input.data);
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('an empty service name reaches the only service served', async () => {
    const { dataplane } = await makePlane(echo);
    const out = await dataplane.infer(req('', [item('text', 'x')]));
    expect(out[0]?.data.toString()).toBe('x');
  });

  it('unknown service → 10200, counted under the _unknown label', async () => {
    const plane = await makePlane(echo);
    await expect(plane.dataplane.infer(req('nope', [item('text', 'x')]))).rejects.toMatchObject({
      aigesCode: Codes.SERVICE_NOT_FOUND,
      message: expect.stringContaining('"nope"'),
    });
    await expect(plane.dataplane.openSession({ service: 'nope', params: {}, headers: {} })).rejects.toMatchObject({
      aigesCode: Codes.SERVICE_NOT_FOUND,
    });
    expect(await plane.requests({ service: '_unknown', mode: 'once', code: Codes.SERVICE_NOT_FOUND })).toBe(1);
    expect(await plane.requests({ service: '_unknown', mode: 'session', code: Codes.SERVICE_NOT_FOUND })).toBe(1);
    expect(() => plane.dataplane.metadata('nope')).toThrow(expect.objectContaining({ aigesCode: Codes.SERVICE_NOT_FOUND }));
  });

  it('validates before admission: an invalid request neither takes a slot nor is refused for capacity', async () => {
    const { state, wrapper } = gated();
    const { dataplane } = await makePlane(wrapper, { limits: { capacity: 1 } });
    // A free loader: the bad request is refused for what it is and takes nothing.
    await expect(dataplane.infer(req('gated', [item('text', 'x')], { bogus: '1' }))).rejects.toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
    });
    await expect(dataplane.infer(req('gated', [item('other', 'x')]))).rejects.toMatchObject({ aigesCode: Codes.INVALID_PARAM });
    await expect(dataplane.infer(req('gated', []))).rejects.toMatchObject({ aigesCode: Codes.INVALID_PARAM });
    expect(dataplane.admission.inUse).toBe(0);
    expect(state.calls).toBe(0);

    // A full loader: a bad request still gets its validation error, not 10110.
    const held = dataplane.infer(req('gated', [item('text', 'x')]));
    await state.started.promise;
    expect(dataplane.admission.inUse).toBe(1);
    await expect(dataplane.infer(req('gated', [item('text', 'x')], { bogus: '1' }))).rejects.toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
    });
    await expect(dataplane.infer(req('gated', [item('text', 'x')]))).rejects.toMatchObject({ aigesCode: Codes.CAPACITY });
    state.release.open();
    await expect(held).resolves.toHaveLength(1);
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('at capacity refuses at once with 10110 and counts it', async () => {
    const { state, wrapper } = gated();
    const plane = await makePlane(wrapper, { limits: { capacity: 2 } });
    const a = plane.dataplane.infer(req('gated', [item('text', 'a')]));
    const s = await plane.dataplane.openSession({ service: 'gated', params: {}, headers: {} });
    expect(plane.dataplane.admission.inUse).toBe(2);
    await expect(plane.dataplane.infer(req('gated', [item('text', 'b')]))).rejects.toMatchObject({ aigesCode: Codes.CAPACITY });
    await expect(plane.dataplane.openSession({ service: 'gated', params: {}, headers: {} })).rejects.toMatchObject({
      aigesCode: Codes.CAPACITY,
    });
    expect(await plane.requests({ service: 'gated', mode: 'once', code: Codes.CAPACITY })).toBe(1);
    expect(await plane.requests({ service: 'gated', mode: 'session', code: Codes.CAPACITY })).toBe(1);
    state.release.open();
    await a;
    s.cancel();
    await vi.waitFor(() => expect(plane.dataplane.admission.inUse).toBe(0));
  });

  it('deadline → 10102 at once; the admission slot is freed, the exec slot stays with the plugin until it returns', async () => {
    const { dataplane, instance } = await makePlane(slow, { concurrency: 1 });
    slowStats().maxRunning = 0;
    await expect(dataplane.infer(req('slow', [item('text', 'x')], { ms: '400' }), { deadline: Date.now() + 50 })).rejects.toMatchObject({
      aigesCode: Codes.EXEC_TIMEOUT,
      message: expect.stringMatching(/deadline of \d+ ms exceeded/),
    });
    // Answered while the plugin still runs: the client's slot is free, the plugin's is not.
    expect(slowStats().running).toBe(1);
    expect(dataplane.admission.inUse).toBe(0);
    expect(instance.users).toBe(1);
    expect(instance.execSlots.available).toBe(0);
    // The next call waits for the abandoned exec to return: the plugin never runs two at concurrency 1.
    const next = dataplane.infer(req('slow', [item('text', 'y')], { ms: '0' }));
    expect(instance.execSlots.waiting).toBe(1);
    await expect(next).resolves.toHaveLength(1);
    expect(slowStats().maxRunning).toBe(1);
    expect(instance.users).toBe(0);
    expect(instance.execSlots.available).toBe(1);
  });

  it('the configured default deadline applies when the client sets none', async () => {
    const { dataplane } = await makePlane(slow, { limits: { default_deadline_ms: 40 } });
    await expect(dataplane.infer(req('slow', [item('text', 'x')], { ms: '300' }))).rejects.toMatchObject({
      aigesCode: Codes.EXEC_TIMEOUT,
      message: expect.stringContaining('deadline of 40 ms exceeded'),
    });
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('client abort → 10202; the plugin sees its signal aborted', async () => {
    let seen: unknown;
    const started = gate();
    const wrapper = defineWrapper({
      id: 'waits',
      schema: text,
      exec(_request, ctx) {
        started.open();
        return new Promise<never>((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            seen = ctx.signal.reason;
            reject(new Error('aborted in plugin'));
          }),
        );
      },
    });
    const { dataplane } = await makePlane(wrapper);
    const c = client();
    const call = dataplane.infer(req('waits', [item('text', 'x')]), c.options);
    await started.promise;
    c.cancel();
    await expect(call).rejects.toMatchObject({ aigesCode: Codes.CANCELLED });
    expect(seen).toMatchObject({ aigesCode: Codes.CANCELLED });
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('a client already gone (cancelled as it was admitted) → 10202 without calling the plugin', async () => {
    const { state, wrapper } = gated();
    const { dataplane } = await makePlane(wrapper);
    await expect(dataplane.infer(req('gated', [item('text', 'x')]), { onCancel: (call) => call.cancel() })).rejects.toMatchObject({
      aigesCode: Codes.CANCELLED,
    });
    expect(state.calls).toBe(0);
    expect(dataplane.admission.inUse).toBe(0);
  });

  it("a cancel at the call's deadline (the client's timer fired first) → 10102, counted as a deadline", async () => {
    const { wrapper } = gated();
    const { dataplane, metrics } = await makePlane(wrapper);
    // The deadline has passed as the call is admitted, and the client's cancel comes before our timer.
    await expect(
      dataplane.infer(req('gated', [item('text', 'x')]), { deadline: Date.now() - 1, onCancel: (call) => call.cancel() }),
    ).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    const counted = await metrics.registry.getSingleMetricAsString('aiges_requests_total');
    expect(counted).toContain('code="10102"} 1');
    expect(counted).not.toContain('code="10202"');
  });

  it('plugin throws → 10909 with the plugin message', async () => {
    const { dataplane } = await makePlane(throws);
    await expect(dataplane.infer(req('throws', [item('text', 'x')], { where: 'exec' }))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_EXEC,
      message: 'plugin exec failed: boom in exec',
    });
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('a plugin that throws synchronously or a non-Error is still 10909', async () => {
    const wrapper = defineWrapper({
      id: 'weird',
      schema: text,
      exec() {
        throw 'a bare string';
      },
    });
    const { dataplane } = await makePlane(wrapper);
    await expect(dataplane.infer(req('weird', [item('text', 'x')]))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_EXEC,
      message: expect.stringContaining('a bare string'),
    });
  });

  it("a plugin's pluginError (client fault) passes through with its code: 10107", async () => {
    const { dataplane } = await makePlane(throws);
    await expect(dataplane.infer(req('throws', [item('text', 'x')], { where: 'reject' }))).rejects.toMatchObject({
      aigesCode: Codes.INVALID_PARAM_VALUE,
      message: 'text is not a greeting',
    });
  });

  it('undeclared output → 10203', async () => {
    const { dataplane } = await makePlane(throws);
    await expect(dataplane.infer(req('throws', [item('text', 'x')], { where: 'output' }))).rejects.toMatchObject({
      aigesCode: Codes.INVALID_OUTPUT,
      message: expect.stringContaining('"undeclared"'),
    });
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('plugin.concurrency 1 serialises execs; extra calls wait holding their admission slot', async () => {
    const { stats, wrapper } = overlapping();
    const { dataplane, instance } = await makePlane(wrapper, { concurrency: 1 });
    const calls = Array.from({ length: 5 }, (_, i) => dataplane.infer(req('overlap', [item('text', String(i))])));
    expect(dataplane.admission.inUse).toBe(5);
    const out = await Promise.all(calls);
    expect(out.map((o) => o[0]?.data.toString())).toEqual(['0', '1', '2', '3', '4']);
    expect(stats.ran).toBe(5);
    expect(stats.max).toBe(1);
    expect(instance.execSlots.available).toBe(1);
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('plugin.concurrency 3 lets exactly 3 execs overlap (the measurement is real)', async () => {
    const { stats, wrapper } = overlapping();
    const { dataplane } = await makePlane(wrapper, { concurrency: 3 });
    await Promise.all(Array.from({ length: 7 }, () => dataplane.infer(req('overlap', [item('text', 'x')]))));
    expect(stats.max).toBe(3);
    expect(stats.ran).toBe(7);
  });

  it('a call whose deadline passes while queued for an exec slot → 10102 and never runs', async () => {
    const { state, wrapper } = gated();
    const { dataplane, instance } = await makePlane(wrapper, { concurrency: 1 });
    const first = dataplane.infer(req('gated', [item('text', 'a')]));
    await state.started.promise;
    await expect(dataplane.infer(req('gated', [item('text', 'b')]), { deadline: Date.now() + 30 })).rejects.toMatchObject({
      aigesCode: Codes.EXEC_TIMEOUT,
    });
    expect(dataplane.admission.inUse).toBe(1);
    state.release.open();
    await first;
    expect(state.calls).toBe(1);
    expect(instance.execSlots.available).toBe(1);
  });

  it('generates a sid and passes it as params.sid and ctx.sid; a given sid is kept', async () => {
    const seen: { param: unknown; ctx: string }[] = [];
    const wrapper = defineWrapper({
      id: 'sid',
      schema: text,
      exec(request, ctx: CallContext<unknown>) {
        seen.push({ param: request.params['sid'], ctx: ctx.sid });
        return [];
      },
      session: {
        create(params, ctx) {
          seen.push({ param: params['sid'], ctx: ctx.sid });
          return { write: () => undefined, results: new ResultQueue() };
        },
      },
    });
    const { dataplane } = await makePlane(wrapper);
    await dataplane.infer(req('sid', [item('text', 'x')]));
    await dataplane.infer(req('sid', [item('text', 'x')]));
    await dataplane.infer(req('sid', [item('text', 'x')], { sid: 'my-request-1' }));
    const s = await dataplane.openSession({ service: 'sid', params: { sid: 'sess-7' }, headers: {} });
    const generated = await dataplane.openSession({ service: 'sid', params: {}, headers: {} });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(seen[0]?.param).toMatch(uuid);
    expect(seen[0]?.ctx).toBe(seen[0]?.param);
    expect(seen[1]?.param).toMatch(uuid);
    expect(seen[1]?.param).not.toBe(seen[0]?.param);
    expect(seen[2]).toEqual({ param: 'my-request-1', ctx: 'my-request-1' });
    expect(seen[3]).toEqual({ param: 'sess-7', ctx: 'sess-7' });
    expect(s.sid).toBe('sess-7');
    expect(generated.sid).toMatch(uuid);
    expect(seen[4]).toEqual({ param: generated.sid, ctx: generated.sid });
    for (const session of [s, generated]) session.cancel();
    await vi.waitFor(() => expect(dataplane.admission.inUse).toBe(0));
  });

  it('counts aiges_requests_total by service, mode and code; inflight returns to 0', async () => {
    const plane = await makePlane(throws);
    await plane.dataplane.infer(req('throws', [item('text', 'x')]));
    await plane.dataplane.infer(req('throws', [item('text', 'x')]));
    await plane.dataplane.infer(req('throws', [item('text', 'x')], { where: 'exec' })).catch(() => undefined);
    await plane.dataplane.infer(req('throws', [item('text', 'x')], { where: 'nowhere' })).catch(() => undefined);
    const text = await plane.metrics.registry.getSingleMetricAsString('aiges_requests_total');
    expect(text).toContain('aiges_requests_total{service="throws",mode="once",code="0"} 2');
    expect(text).toContain('aiges_requests_total{service="throws",mode="once",code="10909"} 1');
    expect(text).toContain('aiges_requests_total{service="throws",mode="once",code="10107"} 1');
    const inflight = await plane.metrics.registry.getSingleMetricAsString('aiges_inflight_requests');
    expect(inflight).toContain('aiges_inflight_requests{service="throws"} 0');
    const duration = await plane.metrics.registry.getSingleMetricAsString('aiges_request_duration_seconds');
    expect(duration).toContain('aiges_request_duration_seconds_count{service="throws",mode="once"} 4');
  });

  it('once-only and session-only services → 10004 for the other mode', async () => {
    const onceOnly = defineWrapper({ id: 'once-only', schema: text, exec: (r) => r.items });
    const sessionOnly = defineWrapper({
      id: 'session-only',
      schema: text,
      session: { create: () => ({ write: () => undefined, results: new ResultQueue() }) },
    });
    const a = await makePlane(onceOnly);
    await expect(a.dataplane.openSession({ service: 'once-only', params: {}, headers: {} })).rejects.toMatchObject({
      aigesCode: Codes.INVALID_SESSION_MODE,
    });
    const b = await makePlane(sessionOnly);
    await expect(b.dataplane.infer(req('session-only', [item('text', 'x')]))).rejects.toMatchObject({
      aigesCode: Codes.INVALID_SESSION_MODE,
    });
    expect(a.dataplane.admission.inUse + b.dataplane.admission.inUse).toBe(0);
    expect(await a.requests({ service: 'once-only', mode: 'session', code: Codes.INVALID_SESSION_MODE })).toBe(1);
    expect(a.dataplane.metadata()).toMatchObject({ supportsOnce: true, supportsSession: false });
    expect(b.dataplane.metadata()).toMatchObject({ supportsOnce: false, supportsSession: true });
  });

  it('payload over max_message_bytes → 10201 before admission; exactly the limit passes', async () => {
    const { dataplane } = await makePlane(echo, { limits: { max_message_bytes: 8 } });
    await expect(dataplane.infer(req('echo', [item('text', '12345'), item('audio', '6789', { type: 'audio' })]))).rejects.toMatchObject({
      aigesCode: Codes.PAYLOAD_TOO_LARGE,
      message: expect.stringContaining('9 bytes'),
    });
    expect(dataplane.admission.inUse).toBe(0);
    await expect(dataplane.infer(req('echo', [item('text', '12345678')]))).resolves.toHaveLength(1);
  });

  it('metadata describes the service', async () => {
    const { dataplane } = await makePlane(echo, { limits: { capacity: 7 } });
    const meta = dataplane.metadata('echo');
    expect(meta).toMatchObject({ service: 'echo', version: '1.0.0', supportsOnce: true, supportsSession: true, capacity: 7 });
    expect(Object.keys(meta.inputs)).toEqual(['text', 'audio', 'data']);
    expect(meta.paramsSchema).toMatchObject({
      properties: { sid: { type: 'string' }, delay_ms: { type: 'integer', minimum: 0, maximum: 60_000, default: 0 } },
      additionalProperties: false,
    });
    expect(dataplane.metadata()).toEqual(meta);
  });
});

describe('Dataplane.drain', () => {
  it('refuses new calls with 10101, waits for in-flight ones, then resolves true', async () => {
    const { state, wrapper } = gated();
    const { dataplane } = await makePlane(wrapper);
    const inflight = dataplane.infer(req('gated', [item('text', 'a')]));
    await state.started.promise;
    let drained: boolean | undefined;
    const drain = dataplane.drain(10_000).then((v) => (drained = v));
    await expect(dataplane.infer(req('gated', [item('text', 'b')]))).rejects.toMatchObject({
      aigesCode: Codes.INSTANCE_INACTIVE,
    });
    await expect(dataplane.openSession({ service: 'gated', params: {}, headers: {} })).rejects.toMatchObject({
      aigesCode: Codes.INSTANCE_INACTIVE,
    });
    expect(drained).toBeUndefined();
    state.release.open();
    await expect(inflight).resolves.toHaveLength(1);
    await drain;
    expect(drained).toBe(true);
  });

  it('resolves true at once when idle', async () => {
    const { dataplane } = await makePlane(echo);
    await expect(dataplane.drain(0)).resolves.toBe(true);
    await expect(dataplane.infer(req('echo', [item('text', 'x')]))).rejects.toMatchObject({ aigesCode: Codes.INSTANCE_INACTIVE });
  });

  it('with a hung session: false after the grace, the session cancelled with 10101 and its slot freed', async () => {
    const plane = await makePlane(hangs);
    const { dataplane } = plane;
    const session = await dataplane.openSession({ service: 'hangs', params: {}, headers: {} });
    const reading = collect(session);
    expect(dataplane.openSessions).toBe(1);
    expect(dataplane.admission.sessions).toBe(1);
    await expect(dataplane.drain(50)).resolves.toBe(false);
    await expect(reading).rejects.toMatchObject({ aigesCode: Codes.INSTANCE_INACTIVE });
    expect(session.closed).toBe(true);
    expect(dataplane.openSessions).toBe(0);
    expect(dataplane.admission.inUse).toBe(0);
    expect(plane.instance.users).toBe(0);
    expect(await plane.requests({ service: 'hangs', mode: 'session', code: Codes.INSTANCE_INACTIVE })).toBe(1);
  });

  it('destroys a drained session once', async () => {
    let destroyed = 0;
    const wrapper = defineWrapper({
      id: 'stuck',
      schema: text,
      session: {
        create: () => ({
          write: () => undefined,
          results: new ResultQueue(),
          destroy: () => void destroyed++,
        }),
      },
    });
    const { dataplane } = await makePlane(wrapper);
    const s = await dataplane.openSession({ service: 'stuck', params: {}, headers: {} });
    await expect(dataplane.drain(20)).resolves.toBe(false);
    await vi.waitFor(() => expect(dataplane.admission.inUse).toBe(0));
    expect(destroyed).toBe(1);
    await expect(s.write([item('text', 'x', { status: DataStatus.CONTINUE })])).rejects.toMatchObject({
      aigesCode: Codes.INSTANCE_INACTIVE,
    });
  });
});
