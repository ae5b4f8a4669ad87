/**
 * Native host, once mode, against demo/native-echo: sync and async round trips, input handed over as a copy,
 * the concurrency cap, plugin errors, a wrapper that never calls back, and a free event loop.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { NativeError, openLibrary, type NativeLibrary, type OpenOptions } from '../../native/host.js';
import { artifacts, ensureNativeBuild, item, probe, useLibraries } from './helpers.js';

beforeAll(ensureNativeBuild, 240_000);

const openLib = useLibraries();
function echo(options: Partial<OpenOptions> = {}, config: Record<string, string> = {}): Promise<NativeLibrary> {
  return openLib(artifacts.echo, { mode: 'once', async: false, threads: 2, ...options }, config);
}

/**
 * Turns the event loop until a turn sees `busy()` or `call` has settled. True means the loop ran
 * while the wrapper was inside the call and the call was still pending: a host that held the JS
 * thread for the whole call could only let the loop turn once the call was over, and not busy.
 */
async function loopSeesBusy(call: Promise<unknown>, busy: () => boolean): Promise<boolean> {
  let settled = false;
  call.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (settled) return false;
    if (busy()) return true;
  }
}

function rejection(p: Promise<unknown>): Promise<NativeError> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err as NativeError,
  );
}

describe.each([false, true])('once mode, async=%s', (async) => {
  it('exposes version, exports and the optional ABI version', async () => {
    const lib = await echo({ async });
    expect(lib.version).toBe('native-echo 1.0.0');
    expect(lib.symbols).toEqual(expect.arrayContaining(['wrapperInit', 'wrapperExec', 'wrapperExecFree', 'wrapperExecAsync']));
    expect(lib.abiVersion).toBe(1);
  });

  it('round-trips binary items, including 0-byte and 16 MiB ones', async () => {
    const lib = await echo({ async });
    const big = randomBytes(16 * 1024 * 1024);
    const small = randomBytes(1000);
    const input = [
      item('text', 'héllo', 3, 0, { encoding: 'utf8' }),
      item('empty', Buffer.alloc(0), 3, 1),
      item('small', small, 3, 2),
      item('big', big, 3, 4, { shape: '16M' }),
    ];
    const out = await lib.exec('req-1', {}, input, 5000);
    expect(out.map((o) => o.key)).toEqual(['text', 'empty', 'small', 'big']);
    expect(out.map((o) => o.type)).toEqual([0, 1, 2, 4]);
    expect(out.every((o) => o.status === 3)).toBe(true);
    expect(out[0]!.data.toString()).toBe('héllo');
    expect(out[0]!.desc).toEqual({ encoding: 'utf8' });
    expect(out[1]!.data.length).toBe(0);
    expect(out[2]!.data.equals(small)).toBe(true);
    expect(out[3]!.data.equals(big)).toBe(true);
    expect(out[3]!.desc).toEqual({ shape: '16M' });
    // Async: the final callback may settle the call before wrapperExecAsync has returned on its worker.
    await expect.poll(() => lib.stats().running).toBe(0);
    expect(lib.stats().pendingTags).toBe(0);
    // Async: the echo's answering thread frees its copy after the callback; fini joins those threads.
    if (async) await lib.fini();
    expect(probe().stats(artifacts.echo).liveHandles).toBe(0);
  });

  it('passes input bytes as a host copy, usrTag as the tag and as param sid', async () => {
    const lib = await echo({ async });
    const data = randomBytes(4096);
    const [out] = await lib.exec('sid-42', { report: '1' }, [item('a', data)], 5000);
    // A copy (followed by a zero byte: host-fidelity.test.ts), never a view of the caller's Buffer.
    expect(out!.desc['ptr']).not.toBe(probe().bufferAddress(data));
    expect(out!.data.equals(data)).toBe(true);
    expect(out!.desc['sid']).toBe('sid-42');
    expect(out!.desc['tag']).toBe('sid-42');
  });

  it('turns a plugin error code into a NativeError with wrapperError text', async () => {
    const lib = await echo({ async });
    const err = await rejection(lib.exec('bad', { fail: '1001' }, [item('a', 'x')], 5000));
    const fn = async ? 'wrapperExecAsync' : 'wrapperExec';
    expect(err).toBeInstanceOf(NativeError);
    expect(err).toMatchObject({ pluginCode: 1001, fn, reason: 'plugin', aigesCode: 10909 });
    expect(err.message).toBe(`${fn} returned 1001: native-echo: failure requested by the 'fail' param`);
  });

  it('keeps the event loop free while a 200 ms native call runs', async () => {
    const lib = await echo({ async });
    // The wrapper is busy (sync: inside wrapperExec; async: answer pending) for the whole call.
    const busy = () => {
      const s = probe().stats(artifacts.echo);
      return async ? s.liveHandles > 0 : s.running > 0;
    };
    const call = lib.exec('slow', { delay_ms: '200' }, [item('a', 'x')], 5000);
    expect(await loopSeesBusy(call, busy)).toBe(true);
    expect((await call)[0]!.data.toString()).toBe('x');
  });
});

describe('once mode, sync only', () => {
  it('runs at most `threads` wrapper calls at once', async () => {
    const lib = await echo({ async: false, threads: 2 }, { mode_delay_ms: '40' });
    probe().reset(artifacts.echo);
    const outs = await Promise.all(Array.from({ length: 8 }, (_, i) => lib.exec(`c${i}`, {}, [item('i', String(i))], 5000)));
    expect(outs.map((o) => o[0]!.data.toString())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    // Inside the wrapper (its own count): never more than two of the eight at once, and two at once at some point.
    expect(probe().stats(artifacts.echo).maxOverlap).toBe(2);
    expect(lib.stats().maxRunning).toBe(2);
  });
});

describe('once mode, sync: spinning (spinUs)', () => {
  // Each payload differs, so a result delivered to the wrong call, or twice, cannot go unnoticed.
  async function backToBack(lib: NativeLibrary, calls: number): Promise<void> {
    for (let i = 0; i < calls; i++) {
      const data = randomBytes(64);
      const out = await lib.exec(`b${i}`, {}, [item('d', data)], 5000);
      expect(out[0]!.data.equals(data)).toBe(true);
    }
    const parallel = Array.from({ length: 8 }, () => randomBytes(64));
    const outs = await Promise.all(parallel.map((d, i) => lib.exec(`p${i}`, {}, [item('d', d)], 5000)));
    outs.forEach((o, i) => {
      expect(o[0]!.data.equals(parallel[i]!)).toBe(true);
    });
  }

  it('spinUs 0: every result comes through the event loop, none is taken inline', async () => {
    const lib = await echo({ async: false, spinUs: 0 });
    await backToBack(lib, 200);
    expect(lib.stats().inlineResults).toBe(0);
  });

  it('spinUs 1000: short calls complete inline; after a long call the JS thread no longer waits', async () => {
    const lib = await echo({ async: false, spinUs: 1000 });
    await backToBack(lib, 200);
    // A 64 B echo takes a few µs against a 1 ms budget: nearly all of these come back inline.
    expect(lib.stats().inlineResults).toBeGreaterThan(0);

    // The slow call: the JS thread waits at most 1 ms, then the loop runs while the call does.
    const slow = lib.exec('slow', { delay_ms: '100' }, [item('a', 'x')], 5000);
    expect(await loopSeesBusy(slow, () => probe().stats(artifacts.echo).running > 0)).toBe(true);
    await slow;

    // The last call took longer than the budget, so the next one is not waited for on this thread.
    const before = lib.stats().inlineResults;
    expect((await lib.exec('after', {}, [item('a', 'y')], 5000))[0]!.data.toString()).toBe('y');
    expect(lib.stats().inlineResults).toBe(before);
  });
});

describe('once mode, sync: callerThread', () => {
  /** Whether `p` has settled by the time this is called: its reaction then runs within this microtask turn. */
  async function settledNow(p: Promise<unknown>): Promise<boolean> {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await Promise.resolve();
    return settled;
  }
  const fidelity = (options: Partial<OpenOptions>) =>
    openLib(artifacts.fidelity, { mode: 'once', async: false, threads: 1, spinUs: 0, ...options });
  const mainThread = (out: { data: Buffer }[]) => (JSON.parse(out[0]!.data.toString()) as { mainThread: boolean }).mainThread;

  it('runs wrapperExec on the calling thread: the promise is settled when exec returns', async () => {
    const lib = await fidelity({ callerThread: true });
    for (let i = 0; i < 3; i++) {
      const call = lib.exec(`c${i}`, {}, [item('a', `x${i}`)], 5000);
      expect(await settledNow(call)).toBe(true);
      expect(mainThread(await call)).toBe(true);
    }
    // Without it (and without a spin), the worker runs it and the result comes later.
    const worker = await fidelity({});
    const call = worker.exec('w', {}, [item('a', 'x')], 5000);
    expect(await settledNow(call)).toBe(false);
    expect(mainThread(await call)).toBe(false);
  });

  it("answers an exception or an error code of wrapperExec at once, with the function's code", async () => {
    const lib = await fidelity({ callerThread: true });
    const thrown = lib.exec('t', { throw: 'wrapperExec' }, [], 5000);
    expect(await settledNow(thrown)).toBe(true);
    const err = await rejection(thrown);
    expect([err.fn, err.aigesCode]).toEqual(['wrapperExec', 10909]);
    expect(err.message).toMatch(/wrapperExec exploded/);
    // The library serves on after it.
    expect(mainThread(await lib.exec('after', {}, [item('a', 'y')], 5000))).toBe(true);
  });

  it.each([
    ['two threads', { threads: 2 }],
    ['async', { async: true }],
    ['session mode', { mode: 'session' as const }],
  ])('is refused with %s', async (_, options) => {
    await expect(
      openLibrary(artifacts.fidelity, { mode: 'once', async: false, threads: 1, callerThread: true, ...options }),
    ).rejects.toThrow(/callerThread needs mode 'once', async false and one thread/);
  });
});

describe('once mode, async only', () => {
  it('reports a callback with ret != 0 as fn wrapperCallback (10910)', async () => {
    const lib = await echo({ async: true });
    const err = await rejection(lib.exec('cbf', { cb_fail: '1001' }, [item('a', 'x')], 5000));
    expect(err).toMatchObject({ pluginCode: 1001, fn: 'wrapperCallback', reason: 'callback', aigesCode: 10910 });
    expect(err.message).toContain('native-echo: failure requested');
    expect(lib.stats().pendingTags).toBe(0);
  });

  it('routes a callback whose usrTag is a copy of the tag it was given', async () => {
    const lib = await echo({ async: true });
    const out = await lib.exec('copied-tag', { copy_tag: '1' }, [item('a', 'x')], 5000);
    expect(out[0]!.data.toString()).toBe('x');
    expect(lib.stats().pendingTags).toBe(0);
  });

  it('leaves a never-answered exec pending, counted, until fini frees its tag', async () => {
    const lib = await openLibrary(artifacts.echo, { mode: 'once', async: true, threads: 2 });
    await lib.init({});
    const pending = lib.exec('lost', { noreply: '1' }, [item('a', 'x')], 50);
    const outcome = await Promise.race([
      pending.then(
        () => 'settled',
        () => 'settled',
      ),
      new Promise((r) => setTimeout(r, 200, 'deadline')),
    ]);
    expect(outcome).toBe('deadline');
    expect(lib.stats().pendingTags).toBe(1);
    // Another exec still works meanwhile, and the same tag cannot be reused while pending.
    expect((await lib.exec('next', {}, [item('a', 'y')], 1000))[0]!.data.toString()).toBe('y');
    const dup = await rejection(lib.exec('lost', {}, [item('a', 'z')], 1000));
    expect(dup).toMatchObject({ reason: 'state', fn: 'wrapperExecAsync' });

    await lib.fini();
    expect(lib.stats().pendingTags).toBe(0);
    const err = await rejection(pending);
    expect(err).toMatchObject({ reason: 'abandoned', fn: 'wrapperExecAsync' });
    lib.close();
    expect(probe().isLoaded(artifacts.echo)).toBe(false);
  });

  it('forwards wrapperMeterCustom events to onMeter', async () => {
    const events: [string, string, number][] = [];
    const lib = await openLib(artifacts.echo, {
      mode: 'once',
      async: false,
      threads: 1,
      onMeter: (tag, key, count) => events.push([tag, key, count]),
    });
    await lib.exec('metered', { meter: '1' }, [item('a', 'x'), item('b', 'y')], 1000);
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual([['metered', 'echo_items', 2]]);
  });
});
