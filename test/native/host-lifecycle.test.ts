/**
 * Native host, library lifecycle: loading (missing symbols, bad paths, ABI version check), init/fini/close
 * state rules, and misuse that must fail clearly rather than crash.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { NativeError, openLibrary } from '../../native/host.js';
import { artifacts, collector, ensureNativeBuild, item, probe } from './helpers.js';

beforeAll(ensureNativeBuild, 240_000);

describe('loading', () => {
  it('refuses a library missing wrapperExecFree in once sync mode, naming it and the path', async () => {
    const err = await openLibrary(artifacts.missingExecFree, { mode: 'once', async: false, threads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NativeError);
    expect(err).toMatchObject({ reason: 'load', aigesCode: 10901 });
    expect((err as Error).message).toBe(
      `native wrapper ${artifacts.missingExecFree} does not export wrapperExecFree (required in once sync mode)`,
    );
  });

  it('names every missing symbol of a mode', async () => {
    const err = await openLibrary(artifacts.missingExecFree, { mode: 'session', async: false, threads: 1 }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('does not export wrapperCreate, wrapperWrite, wrapperRead, wrapperDestroy');
    const asyncErr = await openLibrary(artifacts.missingExecFree, { mode: 'session', async: true, threads: 1 }).catch((e: unknown) => e);
    expect((asyncErr as Error).message).toContain('does not export wrapperCreate, wrapperWrite, wrapperDestroy (');
  });

  it('loads with only the symbols its mode needs and reads an int aigesAbiVersion', async () => {
    const lib = await openLibrary(artifacts.missingExecFree, { mode: 'once', async: true, threads: 1 });
    expect(lib.abiVersion).toBe(1);
    expect(lib.version).toBeUndefined();
    expect(lib.symbols).toEqual(['wrapperInit', 'wrapperExec', 'wrapperExecAsync']);
    await lib.init({});
    // No wrapperError exported: the message says so.
    await expect(lib.exec('x', {}, [], 100)).rejects.toMatchObject({
      message: 'wrapperExecAsync returned 1: no wrapperError',
      pluginCode: 1,
    });
    await lib.fini();
    lib.close();
  });

  it('refuses a library declaring a newer ABI version, naming it and the versions supported', async () => {
    const err = await openLibrary(artifacts.abiTooNew, { mode: 'once', async: false, threads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NativeError);
    expect(err).toMatchObject({ reason: 'load', aigesCode: 10901 });
    expect((err as Error).message).toBe(
      `native wrapper ${artifacts.abiTooNew} declares aigesAbiVersion 2, newer than this host supports; this host supports ABI version 1`,
    );
  });

  it('refuses a library declaring an ABI version that is not a positive integer', async () => {
    const err = await openLibrary(artifacts.abiNotPositive, { mode: 'once', async: false, threads: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'load', aigesCode: 10901 });
    expect((err as Error).message).toBe(
      `native wrapper ${artifacts.abiNotPositive} declares aigesAbiVersion 0, which is not a positive integer; this host supports ABI version 1`,
    );
  });

  it('reports a dlopen failure', async () => {
    await expect(openLibrary('/nonexistent/libnothing.so', { mode: 'once', async: false, threads: 1 })).rejects.toMatchObject({
      fn: 'dlopen',
      reason: 'load',
      message: expect.stringContaining('cannot load native wrapper /nonexistent/libnothing.so'),
    });
  });

  it('validates options', async () => {
    await expect(openLibrary(artifacts.echo, { mode: 'twice' as 'once', async: false, threads: 1 })).rejects.toThrow(/mode/);
    await expect(openLibrary(artifacts.echo, { mode: 'once', async: false, threads: 0 })).rejects.toThrow(/threads/);
    for (const spinUs of [-1, 1001, '5' as unknown as number]) {
      await expect(openLibrary(artifacts.echo, { mode: 'once', async: false, threads: 1, spinUs })).rejects.toThrow(
        /options\.spinUs must be/,
      );
    }
    const session = { mode: 'session', async: false, threads: 1 } as const;
    await expect(openLibrary(artifacts.echo, { ...session, realTimeRlt: 1 as unknown as boolean })).rejects.toThrow(
      /options\.realTimeRlt must be a boolean/,
    );
    for (const finalReadWaitMs of [0, 3_600_001]) {
      await expect(openLibrary(artifacts.echo, { ...session, finalReadWaitMs })).rejects.toThrow(/options\.finalReadWaitMs must be/);
    }
    for (const readIntervalMs of [0, 1001]) {
      await expect(openLibrary(artifacts.echo, { ...session, readIntervalMs })).rejects.toThrow(/options\.readIntervalMs must be/);
    }
  });
});

describe('init, fini, close', () => {
  it('rejects a failing wrapperInit (10901) and can still close', async () => {
    const lib = await openLibrary(artifacts.echo, { mode: 'once', async: false, threads: 1 });
    await expect(lib.init({ init_fail: '1001' })).rejects.toMatchObject({ fn: 'wrapperInit', pluginCode: 1001, aigesCode: 10901 });
    await expect(lib.exec('x', {}, [], 100)).rejects.toMatchObject({ reason: 'state' });
    lib.close();
  });

  it('enforces the order init → calls → fini → close', async () => {
    const lib = await openLibrary(artifacts.echo, { mode: 'session', async: false, threads: 1 });
    await expect(lib.createSession('early', {}, collector().onResult)).rejects.toMatchObject({ reason: 'state' });
    await lib.init({});
    await expect(lib.init({})).rejects.toMatchObject({ reason: 'state' });
    await expect(lib.exec('wrong-mode', {}, [item('a', 'x')], 100)).rejects.toMatchObject({ reason: 'state' });
    const session = await lib.createSession('s', {}, collector().onResult);
    await expect(lib.fini()).rejects.toMatchObject({ reason: 'state', message: expect.stringContaining('1 sessions open') });
    expect(() => lib.close()).toThrow(/sessions open/);
    await session.destroy();
    expect(() => lib.close()).toThrow(/fini/);
    await lib.fini();
    await expect(lib.createSession('late', {}, collector().onResult)).rejects.toMatchObject({ reason: 'state' });
    expect(probe().isLoaded(artifacts.echo)).toBe(true);
    lib.close();
    lib.close(); // idempotent
    expect(probe().isLoaded(artifacts.echo)).toBe(false);
  });

  it('lets fini wait for running calls instead of overlapping them', async () => {
    const lib = await openLibrary(artifacts.echo, { mode: 'once', async: false, threads: 2 });
    await lib.init({});
    const slow = lib.exec('slow', { delay_ms: '100' }, [item('a', 'x')], 1000);
    const fini = lib.fini();
    await expect(lib.exec('after', {}, [item('a', 'x')], 100)).rejects.toMatchObject({ reason: 'state' });
    expect((await slow)[0]!.data.toString()).toBe('x');
    await fini;
    lib.close();
  });

  it('checks item shapes before any native call', async () => {
    const lib = await openLibrary(artifacts.echo, { mode: 'once', async: false, threads: 1 });
    await lib.init({});
    const bad = { key: 'a', data: 'not a buffer', type: 0, status: 3, desc: {} } as unknown as ReturnType<typeof item>;
    expect(() => lib.exec('x', {}, [bad], 100)).toThrow(/Buffer or Uint8Array/);
    expect(() => lib.exec('x', { n: 1 as unknown as string }, [], 100)).toThrow(/params.n must be a string/);
    expect(() => lib.exec('x', {}, [{ ...item('a', 'x'), status: 9 }], 100)).toThrow(/status/);
    expect(lib.stats().running).toBe(0);
    await lib.fini();
    lib.close();
  });
});
