/**
 * Native host, what an existing AIGes wrapper relies on at the C edge, against the fidelity test
 * wrapper (test/native/wrappers/fidelity.cpp): exceptions from any entry point answered at once
 * with the function's code.
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
