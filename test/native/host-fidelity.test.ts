/**
 * Native host, what an existing AIGes wrapper relies on at the C edge, against the fidelity test
 * wrapper (test/native/wrappers/fidelity.cpp): lists never NULL (placeholder nodes), each input
 * followed by a zero byte, exceptions from any entry point answered at once with the function's
 * code, and wrapper sources in upstream's header spellings (test/native/wrappers/usrtag_*.cpp).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { openLibrary, type NativeItem, type NativeLibrary, type OpenOptions } from '../../native/host.js';
import { artifacts, collector, ensureNativeBuild, item, Status, useLibraries } from './helpers.js';

beforeAll(ensureNativeBuild, 240_000);

const openLib = useLibraries();
function fidelity(options: Partial<OpenOptions> = {}, config: Record<string, string> = {}): Promise<NativeLibrary> {
  return openLib(artifacts.fidelity, { mode: 'once', async: false, threads: 2, ...options }, config);
}

type Pairs = [string | null, string | null][] | null;
interface SeenNode {
  key: string | null;
  dataNull: boolean;
  len: number;
  type: number;
  status: number;
  desc: Pairs;
  zeroAfter?: boolean;
  cstrLen?: number;
}
interface Seen {
  init: Pairs;
  params: Pairs;
  data: SeenNode[] | null;
}
const seen = (out: NativeItem[]): Seen => JSON.parse(out[0]!.data.toString()) as Seen;

/** The placeholder node AIGes passes for an empty list: key NULL, value NULL. */
const PLACEHOLDER_PAIRS: Pairs = [[null, null]];
/** The placeholder DataList node for a request without items. */
const PLACEHOLDER_NODE: SeenNode = { key: null, dataNull: true, len: 0, type: 0, status: 0, desc: PLACEHOLDER_PAIRS };

describe('lists are never NULL', () => {
  it.each([false, true])('once (async=%s): a request without items reaches the wrapper as one placeholder node', async (async) => {
    const lib = await fidelity({ async });
    const report = seen(await lib.exec('empty', {}, [], 5000));
    expect(report.data).toEqual([PLACEHOLDER_NODE]);
    expect(report.params).toEqual([['sid', 'empty']]);
    // wrapperInit got an empty config: the placeholder too.
    expect(report.init).toEqual(PLACEHOLDER_PAIRS);
  });

  it('an item without attributes has a placeholder desc', async () => {
    const lib = await fidelity({}, { model: 'x' });
    const report = seen(
      await lib.exec('d', {}, [item('a', 'hi', Status.ONCE, 1), item('b', 'yo', Status.ONCE, 0, { rate: '16000' })], 5000),
    );
    expect(report.init).toEqual([['model', 'x']]);
    expect(report.data!.map((n) => [n.key, n.type, n.desc])).toEqual([
      ['a', 1, PLACEHOLDER_PAIRS],
      ['b', 0, [['rate', '16000']]],
    ]);
  });

  it('session: a write without items reaches wrapperWrite as the placeholder', async () => {
    const lib = await fidelity({ mode: 'session' });
    const c = collector();
    const session = await lib.createSession('s-empty', {}, c.onResult);
    await session.write([]);
    await session.write([item('a', 'x', Status.END)]);
    await c.ended;
    const reports = c.results.map((r) => JSON.parse(r[0]!.data.toString()) as Seen);
    expect(reports[0]!.data).toEqual([PLACEHOLDER_NODE]);
    expect(reports[1]!.data!.map((n) => n.key)).toEqual(['a']);
    await session.destroy();
  });
});

describe('input bytes', () => {
  it.each([false, true])('async=%s: each input is followed by one zero byte not counted in len', async (async) => {
    const lib = await fidelity({ async });
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 'z');
    // A view into a larger buffer whose next byte is not zero: what a decoded request looks like.
    const request = Buffer.from('hello|world');
    const view = request.subarray(0, 5);
    const report = seen(
      await lib.exec(
        'z',
        {},
        [item('text', view), item('empty', Buffer.alloc(0)), item('big', big), item('bin', Buffer.from([1, 0, 2]))],
        5000,
      ),
    );
    expect(report.data!.map((n) => [n.key, n.len, n.dataNull, n.zeroAfter, n.cstrLen])).toEqual([
      ['text', 5, false, true, 5],
      ['empty', 0, false, true, 0],
      ['big', big.length, false, true, big.length],
      ['bin', 3, false, true, 1],
    ]);
    expect(request.toString()).toBe('hello|world'); // the caller's bytes are never written
  });
});

describe('exceptions from wrapper code', () => {
  it.each([
    ['std::runtime_error: wrapperExec exploded', {}],
    ['int', { throw_kind: 'int' }],
  ])('wrapperExec throwing (%s) is answered at once with 10909, and fini still works', async (what, extra) => {
    const lib = await openLibrary(artifacts.fidelity, { mode: 'once', async: false, threads: 1 });
    await lib.init({});
    const started = performance.now();
    const err = await lib.exec('boom', { throw: 'wrapperExec', ...extra }, [item('a', 'x')], 60_000).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({
      fn: 'wrapperExec',
      reason: 'plugin',
      pluginCode: 0,
      aigesCode: 10909,
      message: `wrapperExec threw ${what}`,
    });
    // The worker survived: the next call works, and fini neither waits for nor times out on anything.
    expect(seen(await lib.exec('after', {}, [item('a', 'x')], 5000)).params).toEqual([['sid', 'after']]);
    expect(lib.stats()).toMatchObject({ running: 0 });
    await lib.fini();
    lib.close();
  });

  it('wrapperExecAsync throwing is answered at once with 10909 and leaves no pending tag', async () => {
    const lib = await fidelity({ async: true });
    await expect(lib.exec('boom', { throw: 'wrapperExecAsync' }, [item('a', 'x')], 60_000)).rejects.toMatchObject({
      fn: 'wrapperExecAsync',
      aigesCode: 10909,
      message: 'wrapperExecAsync threw std::runtime_error: wrapperExecAsync exploded',
    });
    expect(lib.stats().pendingTags).toBe(0);
  });

  it('wrapperInit throwing fails init with 10901; wrapperFini throwing fails fini with 10902 and close still works', async () => {
    const failing = await openLibrary(artifacts.fidelity, { mode: 'once', async: false, threads: 1 });
    await expect(failing.init({ throw: 'wrapperInit' })).rejects.toMatchObject({
      fn: 'wrapperInit',
      aigesCode: 10901,
      message: 'wrapperInit threw std::runtime_error: wrapperInit exploded',
    });
    failing.close();

    const lib = await openLibrary(artifacts.fidelity, { mode: 'once', async: false, threads: 1 });
    await lib.init({ throw: 'wrapperFini' });
    await expect(lib.fini()).rejects.toMatchObject({ fn: 'wrapperFini', aigesCode: 10902 });
    lib.close();
  });

  it.each([false, true])('session (async=%s): create, write, destroy throwing answer 10905, 10907, 10906', async (async) => {
    const lib = await fidelity({ mode: 'session', async });
    await expect(lib.createSession('c', { throw: 'wrapperCreate' }, collector().onResult)).rejects.toMatchObject({
      fn: 'wrapperCreate',
      aigesCode: 10905,
    });
    const w = await lib.createSession('w', { throw: 'wrapperWrite' }, collector().onResult);
    await expect(w.write([item('a', 'x', Status.END)])).rejects.toMatchObject({ fn: 'wrapperWrite', aigesCode: 10907 });
    await w.destroy();
    const d = await lib.createSession('d', { throw: 'wrapperDestroy' }, collector().onResult);
    await expect(d.destroy()).rejects.toMatchObject({ fn: 'wrapperDestroy', aigesCode: 10906 });
    expect(lib.stats()).toMatchObject({ liveSessions: 0, running: 0 });
  });

  it('session: wrapperRead throwing answers the write with 10908 at once', async () => {
    const lib = await fidelity({ mode: 'session' });
    const session = await lib.createSession('r', { throw: 'wrapperRead' }, collector().onResult);
    await expect(session.write([item('a', 'x', Status.CONTINUE)])).rejects.toMatchObject({
      fn: 'wrapperRead',
      aigesCode: 10908,
      message: 'wrapperRead threw std::runtime_error: wrapperRead exploded',
    });
    await session.destroy();
  });
});

describe('upstream header spellings', () => {
  it.each([
    ['widget/wrapper.h, const void* usrTag', artifacts.usrtagWidgetVoid],
    ['aiges/wrapper.h with AIGES_USRTAG_VOID', artifacts.usrtagMacroVoid],
    ['widget/wrapper.h with AIGES_USRTAG_CHAR', artifacts.usrtagWidgetChar],
  ])('a wrapper written against %s builds and answers through the callback', async (_, path) => {
    const lib = await openLib(path, { mode: 'once', async: true, threads: 1 });
    const out = await lib.exec('spelling', {}, [item('a', 'echo me')], 5000);
    expect(out.map((o) => [o.key, o.data.toString(), o.status])).toEqual([['a', 'echo me', Status.ONCE]]);
  });
});
