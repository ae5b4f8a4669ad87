import { afterEach, describe, expect, it, vi } from 'vitest';
import { Codes } from '../../loader/errors.js';
import type { Session } from '../../loader/dataplane/session.js';
import { defineWrapper, ResultQueue } from '../../plugins/index.js';
import { item } from '../../plugins/testing.js';
import { DataStatus, type DataItem, type OutputItem, type SessionResult, type WrapperSession } from '../../plugins/types.js';
import echo from '../../demo/echo/wrapper.js';
import throws from '../fixtures/plugins/throws.js';
import { client, collect, gate, makePlane, type Plane } from './helpers.js';

const text = { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } } as const;

const frame = (data: string, status: DataStatus = DataStatus.CONTINUE): DataItem[] => [item('text', data, { status })];

interface ProbeOptions {
  /** What write does with its items: push them as results (default), push them marked END/ONCE, or nothing. */
  write?: 'echo' | 'end' | 'once' | 'none';
  /** Each write waits this many ms (a varying delay shows whether writes overlap). */
  writeDelay?: (n: number) => number;
  destroy?: 'ok' | 'throws' | 'hangs';
}

/** A session plugin that records what the loader does to it. */
function probe(options: ProbeOptions = {}) {
  const log = {
    created: 0,
    writes: [] as string[],
    active: 0,
    maxActive: 0,
    ended: 0,
    destroyed: 0,
    queue: undefined as ResultQueue | undefined,
    signal: undefined as AbortSignal | undefined,
  };
  const wrapper = defineWrapper({
    id: 'probe',
    schema: text,
    session: {
      create(_params, ctx) {
        log.created++;
        log.signal = ctx.signal;
        const results = new ResultQueue();
        log.queue = results;
        const session: WrapperSession = {
          async write(items) {
            const n = log.writes.length;
            log.active++;
            log.maxActive = Math.max(log.maxActive, log.active);
            try {
              const delay = options.writeDelay?.(n) ?? 0;
              if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
              log.writes.push(items.map((i) => i.data.toString()).join(','));
              const mode = options.write ?? 'echo';
              if (mode === 'none') return;
              const status = mode === 'end' ? DataStatus.END : mode === 'once' ? DataStatus.ONCE : undefined;
              const out: OutputItem[] = items.map((i) => ({ key: i.key, data: i.data, ...(status === undefined ? {} : { status }) }));
              await results.push(out);
            } finally {
              log.active--;
            }
          },
          end() {
            log.ended++;
            results.close();
          },
          results,
          destroy() {
            log.destroyed++;
            if (options.destroy === 'throws') throw new Error('destroy blew up');
            if (options.destroy === 'hangs') return new Promise<void>(() => undefined);
            return undefined;
          },
        };
        return session;
      },
    },
  });
  return { log, wrapper };
}

const open = (plane: Plane, params: Record<string, string> = {}, options = {}) =>
  plane.dataplane.openSession({ service: plane.instance.service, params, headers: {} }, options);

async function expectClean(plane: Plane): Promise<void> {
  await vi.waitFor(() => expect(plane.dataplane.admission.inUse).toBe(0));
  expect(plane.dataplane.openSessions).toBe(0);
  expect(plane.instance.users).toBe(0);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Session: the normal flow', () => {
  it('writes are made one at a time, in order, even when the client does not wait', async () => {
    // Earlier frames take longer: overlapping writes would finish out of order.
    const { log, wrapper } = probe({ writeDelay: (n) => (n % 2 === 0 ? 8 : 1) });
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const results = collect(s);
    const writes = ['a', 'b', 'c', 'd', 'e', 'f'].map((d) => s.write(frame(d)));
    await Promise.all(writes);
    await s.end();
    const out = await results;
    expect(log.writes).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(log.maxActive).toBe(1);
    expect(out.map((r) => r.items.map((i) => i.data.toString()).join(''))).toEqual(['a', 'b', 'c', 'd', 'e', 'f', '']);
    await expectClean(plane);
  });

  it('when the plugin iterator ends, a final empty END result closes the stream', async () => {
    const { log, wrapper } = probe();
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const results = collect(s);
    await s.write(frame('a', DataStatus.BEGIN));
    await s.write(frame('b', DataStatus.END)); // an input END does not end the session by itself
    expect(s.closed).toBe(false);
    await s.end();
    const out = await results;
    expect(out.map((r) => r.status)).toEqual([DataStatus.CONTINUE, DataStatus.CONTINUE, DataStatus.END]);
    expect(out.at(-1)?.items).toEqual([]);
    expect(out[0]?.items[0]).toMatchObject({ key: 'text', status: DataStatus.CONTINUE, data: Buffer.from('a') });
    expect(log.ended).toBe(1);
    expect(log.destroyed).toBe(1);
    expect(s.closed).toBe(true);
    await expectClean(plane);
    expect(await plane.requests({ service: 'probe', mode: 'session', code: 0 })).toBe(1);
  });

  it.each([
    ['END', 'end'],
    ['ONCE', 'once'],
  ] as const)('an output item with status %s marks the last batch; no extra result follows', async (_name, mode) => {
    const { log, wrapper } = probe({ write: mode });
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const results = collect(s);
    await s.write(frame('only'));
    const out = await results;
    expect(out).toHaveLength(1);
    expect(out[0]?.status).toBe(DataStatus.END);
    expect(out[0]?.items[0]?.data.toString()).toBe('only');
    expect(s.closed).toBe(true);
    expect(log.destroyed).toBe(1);
    await expectClean(plane);
    // The plugin finished first: the client's half-close is a no-op, not an error, and the plugin's end is not called.
    await expect(s.end()).resolves.toBeUndefined();
    expect(log.ended).toBe(0);
    // Writing to a finished session is an invalid operation.
    await expect(s.write(frame('late'))).rejects.toMatchObject({ aigesCode: Codes.INVALID_OP });
    expect(log.writes).toEqual(['only']);
  });

  it('a write still running when the plugin ends the session (END result) resolves: the session ended well', async () => {
    let release!: () => void;
    const wrapper = defineWrapper({
      id: 'ends-mid-write',
      schema: text,
      session: {
        create() {
          const results = new ResultQueue();
          return {
            async write(items) {
              await results.push(items.map((i) => ({ key: i.key, data: i.data, status: DataStatus.END })));
              // Still inside write when the loader has already seen END and closed the session.
              await new Promise<void>((resolve) => (release = resolve));
            },
            results,
          };
        },
      },
    });
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const results = collect(s);
    const writing = s.write(frame('last'));
    const out = await results;
    expect(out.map((r) => r.status)).toEqual([DataStatus.END]);
    expect(s.closed).toBe(true);
    release();
    await expect(writing).resolves.toBeUndefined();
    await expectClean(plane);
    expect(await plane.requests({ service: 'ends-mid-write', mode: 'session', code: 0 })).toBe(1);
  });

  it('write after end → 10003, and the session still finishes normally', async () => {
    const { log, wrapper } = probe();
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const results = collect(s);
    await s.write(frame('a'));
    const ending = s.end();
    await expect(s.write(frame('b'))).rejects.toMatchObject({
      aigesCode: Codes.INVALID_OP,
      message: expect.stringContaining('already ended'),
    });
    await ending;
    await expect(s.end()).resolves.toBeUndefined(); // a second end is harmless
    expect(log.ended).toBe(1);
    const out = await results;
    expect(out.at(-1)?.status).toBe(DataStatus.END);
    expect(log.writes).toEqual(['a']);
    await expectClean(plane);
  });

  it('results can be iterated only once', async () => {
    const { wrapper } = probe();
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const first = collect(s);
    await expect(collect(s)).rejects.toMatchObject({ aigesCode: Codes.INTERNAL });
    await s.end();
    await expect(first).resolves.toHaveLength(1);
    await expectClean(plane);
  });

  it('1,000 sessions opened and closed one after another leave nothing behind', async () => {
    const plane = await makePlane(echo, { limits: { capacity: 1 } });
    for (let i = 0; i < 1000; i++) {
      const s = await open(plane);
      const results = collect(s);
      await s.write([item('text', String(i), { status: DataStatus.CONTINUE })]);
      await s.end();
      const out = await results;
      if (out.length !== 2 || out[0]?.items[0]?.data.toString() !== String(i)) throw new Error(`session ${i} went wrong`);
    }
    expect(plane.dataplane.admission.inUse).toBe(0);
    expect(plane.dataplane.openSessions).toBe(0);
    expect(plane.instance.users).toBe(0);
    expect(await plane.requests({ service: 'echo', mode: 'session', code: 0 })).toBe(1000);
    const gauge = await plane.metrics.registry.getSingleMetricAsString('aiges_open_sessions');
    expect(gauge).toContain('aiges_open_sessions{service="echo"} 0');
  });
});

describe('Session: timeouts and deadlines', () => {
  it('idle timeout → 10019, reset by every write', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { log, wrapper } = probe({ write: 'none' });
    const plane = await makePlane(wrapper, { limits: { session_idle_timeout_ms: 100 } });
    const s = await open(plane);
    const results = collect(s);
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(80);
      await s.write(frame(String(i)));
    }
    await vi.advanceTimersByTimeAsync(99);
    expect(s.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.closed).toBe(true);
    await expect(results).rejects.toMatchObject({ aigesCode: Codes.SESSION_TIMEOUT, message: expect.stringContaining('100 ms') });
    await expect(s.write(frame('late'))).rejects.toMatchObject({ aigesCode: Codes.SESSION_TIMEOUT });
    expect(log.destroyed).toBe(1);
    expect(log.signal?.aborted).toBe(true);
    await expectClean(plane);
    expect(await plane.requests({ service: 'probe', mode: 'session', code: Codes.SESSION_TIMEOUT })).toBe(1);
  });

  it('idle timeout is reset by every result the plugin sends', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { log, wrapper } = probe({ write: 'none' });
    const plane = await makePlane(wrapper, { limits: { session_idle_timeout_ms: 100 } });
    const s = await open(plane);
    const results = collect(s);
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(80);
      await log.queue?.push([{ key: 'text', data: String(i) }]);
    }
    await vi.advanceTimersByTimeAsync(80);
    expect(s.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    await expect(results).rejects.toMatchObject({ aigesCode: Codes.SESSION_TIMEOUT });
    expect(log.destroyed).toBe(1);
    await expectClean(plane);
  });

  it('session deadline (limits.session_deadline_ms) → 10102', async () => {
    const { log, wrapper } = probe();
    const plane = await makePlane(wrapper, { limits: { session_deadline_ms: 40 } });
    const s = await open(plane);
    const results = collect(s);
    await s.write(frame('a'));
    await expect(results).rejects.toMatchObject({
      aigesCode: Codes.EXEC_TIMEOUT,
      message: expect.stringContaining('session deadline of 40 ms'),
    });
    await expect(s.write(frame('b'))).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    await expect(s.end()).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    expect(log.destroyed).toBe(1);
    await expectClean(plane);
  });

  it("the client's deadline applies to a session, and a write in progress is abandoned at it", async () => {
    const { log, wrapper } = probe({ writeDelay: () => 10_000 });
    const plane = await makePlane(wrapper);
    const s = await open(plane, {}, { deadline: Date.now() + 40 });
    const results = collect(s);
    await expect(s.write(frame('a'))).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    await expect(results).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    expect(log.destroyed).toBe(1);
    await expectClean(plane);
  });

  it("the client's cancel ends the session with 10202", async () => {
    const { log, wrapper } = probe();
    const plane = await makePlane(wrapper);
    const c = client();
    const s = await open(plane, {}, c.options);
    const results = collect(s);
    await s.write(frame('a'));
    c.cancel();
    await expect(results).rejects.toMatchObject({ aigesCode: Codes.CANCELLED });
    expect(log.destroyed).toBe(1);
    await expectClean(plane);
    expect(await plane.requests({ service: 'probe', mode: 'session', code: Codes.CANCELLED })).toBe(1);
  });
});

describe('Session: plugin failures', () => {
  it('write throws → 10907 for the write and the results stream', async () => {
    const plane = await makePlane(throws);
    const s = await open(plane, { where: 'write' });
    const results = collect(s);
    await expect(s.write(frame('a'))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_WRITE,
      message: 'session write failed: boom in write',
    });
    await expect(results).rejects.toMatchObject({ aigesCode: Codes.PLUGIN_WRITE });
    await expectClean(plane);
    expect(await plane.requests({ service: 'throws', mode: 'session', code: Codes.PLUGIN_WRITE })).toBe(1);
  });

  it('results throws → 10908', async () => {
    const plane = await makePlane(throws);
    const s = await open(plane, { where: 'results' });
    const results = collect(s);
    await s.write(frame('a'));
    await expect(results).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_READ,
      message: 'session results failed: boom in results',
    });
    await expect(s.write(frame('b'))).rejects.toMatchObject({ aigesCode: Codes.PLUGIN_READ });
    await expectClean(plane);
  });

  it('create throws → 10905 and no slot is kept', async () => {
    const plane = await makePlane(throws);
    await expect(open(plane, { where: 'create' })).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_CREATE,
      message: 'session create failed: boom in create',
    });
    await expectClean(plane);
    expect(await plane.requests({ service: 'throws', mode: 'session', code: Codes.PLUGIN_CREATE })).toBe(1);
  });

  const badObjects: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['no results', { write: (): void => undefined }],
    ['no write', { results: new ResultQueue() }],
    ['results not async-iterable', { write: (): void => undefined, results: [] }],
  ];
  it.each(badObjects)('create returning a bad object (%s) → 10905', async (_name, made) => {
    const wrapper = defineWrapper({
      id: 'bad-create',
      schema: text,
      session: { create: () => made as unknown as WrapperSession },
    });
    const plane = await makePlane(wrapper);
    await expect(open(plane)).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_CREATE,
      message: expect.stringContaining('must return { write, results }'),
    });
    await expectClean(plane);
  });

  it('an invalid frame fails the session with 10106; an oversized one with 10201', async () => {
    for (const [bad, code] of [
      [[item('nope', 'x', { status: DataStatus.CONTINUE })], Codes.INVALID_PARAM],
      [[item('text', 'x'.repeat(33), { status: DataStatus.CONTINUE })], Codes.PAYLOAD_TOO_LARGE],
    ] as const) {
      const { log, wrapper } = probe();
      const plane = await makePlane(wrapper, { limits: { max_message_bytes: 32 } });
      const s = await open(plane);
      const results = collect(s);
      await s.write(frame('ok'));
      await expect(s.write([...bad])).rejects.toMatchObject({ aigesCode: code });
      await expect(results).rejects.toMatchObject({ aigesCode: code });
      expect(log.writes).toEqual(['ok']);
      expect(log.destroyed).toBe(1);
      await expectClean(plane);
    }
  });

  it('an undeclared output key fails the session with 10203', async () => {
    const wrapper = defineWrapper({
      id: 'bad-output',
      schema: text,
      session: {
        create() {
          const results = new ResultQueue();
          return { write: () => results.push([{ key: 'nope', data: 'x' }]), results };
        },
      },
    });
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const results = collect(s);
    await s.write(frame('a'));
    await expect(results).rejects.toMatchObject({ aigesCode: Codes.INVALID_OUTPUT });
    await expectClean(plane);
  });
});

describe('Session: destroy and cleanup', () => {
  type Path = (s: Session, results: Promise<SessionResult[]>) => Promise<unknown>;
  const paths: [string, ProbeOptions, Partial<Record<string, number>>, Path][] = [
    [
      'success',
      {},
      {},
      async (s, r) => {
        await s.write(frame('a'));
        await s.end();
        await r;
      },
    ],
    [
      'plugin error',
      {
        writeDelay: () => {
          throw new Error('x');
        },
      },
      {},
      async (s, r) => {
        await expect(s.write(frame('a'))).rejects.toMatchObject({ aigesCode: Codes.PLUGIN_WRITE });
        await expect(r).rejects.toBeDefined();
      },
    ],
    [
      'cancel',
      {},
      {},
      async (s, r) => {
        s.cancel();
        await expect(r).rejects.toMatchObject({ aigesCode: Codes.CANCELLED });
      },
    ],
    [
      'idle timeout',
      {},
      { session_idle_timeout_ms: 30 },
      async (_s, r) => {
        await expect(r).rejects.toMatchObject({ aigesCode: Codes.SESSION_TIMEOUT });
      },
    ],
    [
      'deadline',
      {},
      { session_deadline_ms: 30 },
      async (_s, r) => {
        await expect(r).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
      },
    ],
  ];

  it.each(paths)('destroy is called exactly once on %s', async (_name, options, limits, drive) => {
    const { log, wrapper } = probe(options);
    const plane = await makePlane(wrapper, { limits });
    const s = await open(plane);
    const results = collect(s);
    await drive(s, results);
    await expectClean(plane);
    // Whatever else happens afterwards, destroy is not called again.
    s.cancel();
    await s.end().catch(() => undefined);
    await s.write(frame('z'))?.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.destroyed).toBe(1);
    expect(log.signal?.aborted).toBe(true);
  });

  it('a destroy that throws does not leak the slot, nor turn a success into a failure', async () => {
    const { log, wrapper } = probe({ destroy: 'throws' });
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const results = collect(s);
    await s.write(frame('a'));
    await s.end();
    await expect(results).resolves.toHaveLength(2);
    await expectClean(plane);
    expect(log.destroyed).toBe(1);
    expect(await plane.requests({ service: 'probe', mode: 'session', code: 0 })).toBe(1);
  });

  it('a destroy that hangs holds the slot only until the destroy timeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { log, wrapper } = probe({ destroy: 'hangs' });
    const plane = await makePlane(wrapper);
    const s = await open(plane);
    const results = collect(s);
    await s.write(frame('a'));
    await s.end();
    await expect(results).resolves.toHaveLength(2);
    expect(log.destroyed).toBe(1);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(plane.dataplane.admission.inUse).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(plane.dataplane.admission.inUse).toBe(0);
    expect(plane.dataplane.openSessions).toBe(0);
    expect(plane.instance.users).toBe(0);
  });

  it('a sink that returns false pauses the results (the plugin is held back by its own queue) until resume()', async () => {
    const plane = await makePlane(echo);
    const s = await plane.dataplane.openSession({ service: 'echo', params: {}, headers: {} });
    const got: string[] = [];
    let room = 1;
    s.start({
      result: (r) => {
        got.push(r.items.map((i) => i.data.toString()).join(''));
        return --room > 0;
      },
      close: () => undefined,
    });
    await s.write(frame('a'));
    await s.write(frame('b'));
    await s.write(frame('c'));
    expect(got).toEqual(['a']); // paused after the first
    room = 10;
    s.resume();
    expect(got).toEqual(['a', 'b', 'c']);
    await s.end();
    expect(got).toEqual(['a', 'b', 'c', '']);
    await expectClean(plane);
  });

  it('a create still running at the deadline → 10102; its late session is destroyed', async () => {
    const release = gate();
    let destroyed = 0;
    const wrapper = defineWrapper({
      id: 'slow-create',
      schema: text,
      session: {
        async create() {
          await release.promise;
          return { write: () => undefined, results: new ResultQueue(), destroy: () => void destroyed++ };
        },
      },
    });
    const plane = await makePlane(wrapper);
    await expect(open(plane, {}, { deadline: Date.now() + 30 })).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    await expectClean(plane);
    release.open();
    await vi.waitFor(() => expect(destroyed).toBe(1));
  });
});
