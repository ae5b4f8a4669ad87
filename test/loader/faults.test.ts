/**
 * Faults no call awaits (loader/faults.ts): which code a fault belongs to, and, in-process with a
 * real loader, that a plugin's unhandled rejection or timer throw is logged and counted while the
 * loader serves on, and that a fault of the loader's own goes to the loader-fault handler.
 * (The same through a real `aiges serve` process: test/cli/serve-faults.test.ts.)
 */
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../loader/config/load.js';
import { attributeFault, type FaultKind, frameFile, type PluginCode, sidOf, watchProcessFaults } from '../../loader/faults.js';
import { Loader } from '../../loader/loader.js';
import { get, url } from '../server/http-helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/plugins');
const plugin = (service: string, dir: string): PluginCode => ({ service, dir, entry: join(dir, 'wrapper.ts') });
const withStack = (frames: string[]) => Object.assign(new Error('boom'), { stack: ['Error: boom', ...frames].join('\n') });

describe('attributeFault', () => {
  const a = plugin('a', '/srv/plugins/a');
  const nested = plugin('nested', '/srv/plugins/a/inner');

  it('reads plain paths, file URLs and the data: URLs tsx gives CommonJS-style modules', () => {
    expect(frameFile('    at Timeout._onTimeout (/srv/plugins/a/x.ts:2:78)')).toBe('/srv/plugins/a/x.ts');
    expect(frameFile('    at file:///srv/plugins/a/x.ts?tsx-namespace=1:3:4')).toBe('/srv/plugins/a/x.ts');
    expect(frameFile('    at async run (file:///srv/plugins/a/x.mjs:3:4)')).toBe('/srv/plugins/a/x.mjs');
    const data = 'data:text/javascript,__filename%3D...?filePath=%2Fsrv%2Fplugins%2Fa%2Fq.ts%3Fnamespace%3Dabc:2:957';
    expect(frameFile(`    at Timeout._onTimeout (${data})`)).toBe('/srv/plugins/a/q.ts');
    expect(frameFile('    at listOnTimeout (node:internal/timers:581:17)')).toBeUndefined();
    expect(frameFile('    at JSON.parse (<anonymous>)')).toBeUndefined();
  });

  it('a frame in a plugin folder names that plugin, the innermost deciding between nested folders', () => {
    const err = withStack(['    at f (/srv/plugins/a/inner/lib.ts:1:1)', '    at g (/srv/plugins/a/wrapper.ts:1:1)']);
    expect(attributeFault(err, [a, nested])?.plugin).toBe(nested);
    const deps = withStack(['    at emit (/srv/plugins/a/node_modules/dep/index.js:9:9)']);
    expect(attributeFault(deps, [a])?.plugin).toBe(a);
  });

  it("the loader's own code never names a plugin, wherever it is called from", () => {
    const own = plugin('own', ROOT); // a plugin at the repository root holds the loader's folders
    const loaderOnly = withStack([
      `    at x (${join(ROOT, 'loader/dataplane/call.ts')}:1:1)`,
      `    at y (${join(ROOT, 'plugins/result-queue.ts')}:1:1)`,
    ]);
    expect(attributeFault(loaderOnly, [own])).toBeUndefined();
    const deps = withStack([`    at z (${join(ROOT, 'node_modules/pino/pino.js')}:1:1)`]);
    expect(attributeFault(deps, [own])).toBeUndefined();
    const pluginCalls = withStack([
      `    at x (${join(ROOT, 'plugins/result-queue.ts')}:1:1)`,
      `    at p (${join(ROOT, 'wrapper.ts')}:1:1)`,
    ]);
    expect(attributeFault(pluginCalls, [own])?.plugin).toBe(own);
  });

  it("an Error naming no plugin file is the loader's, even with one plugin loaded", () => {
    expect(attributeFault(withStack(['    at TCP.onStreamRead (node:internal/stream_base_commons:191:23)']), [a])).toBeUndefined();
    expect(attributeFault(withStack(['    at x (/srv/elsewhere/x.js:1:1)']), [a])).toBeUndefined();
  });

  it('a value with no stack is the only plugin’s; with several services, the loader’s', () => {
    expect(attributeFault('a string', [a])?.plugin).toBe(a);
    expect(attributeFault({ code: 42 }, [a, plugin('a', '/srv/plugins/a2')])?.plugin).toBe(a);
    expect(attributeFault(42, [a, nested])).toBeUndefined();
    expect(attributeFault('anything', [])).toBeUndefined();
  });

  it('the sid is the one the error or its cause carries', () => {
    expect(sidOf(Object.assign(new Error('x'), { sid: 's1' }))).toBe('s1');
    expect(sidOf(new Error('x', { cause: { sid: 's2' } }))).toBe('s2');
    expect(sidOf(new Error('x'))).toBeUndefined();
    expect(sidOf('s3')).toBeUndefined();
  });
});

/**
 * Runs `fn` with the process's fault handlers being only the loader's: vitest's own would report
 * the faults this test raises on purpose as failures of the run.
 */
async function withOnlyLoaderHandlers(install: () => () => void, fn: () => Promise<void>): Promise<void> {
  const events = ['unhandledRejection', 'uncaughtException'] as const;
  const saved = events.map((e) => process.rawListeners(e) as ((...args: unknown[]) => void)[]);
  for (const e of events) process.removeAllListeners(e);
  const uninstall = install();
  try {
    await fn();
  } finally {
    uninstall();
    events.forEach((e, i) => {
      for (const l of saved[i] ?? []) process.on(e, l);
    });
  }
}

describe('plugin faults in a real loader (in-process)', () => {
  let loader: Loader | undefined;
  afterEach(async () => {
    await loader?.stop();
    loader = undefined;
  });

  async function start() {
    const lines: Record<string, unknown>[] = [];
    const config = loadConfig({
      overrides: {
        server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
        plugin: { path: join(FIXTURES, 'faults.ts') },
        log: { level: 'info' },
      },
    });
    loader = new Loader(config, { defaultMetrics: false, logDestination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    await loader.start();
    const l = loader;
    const loaderFaults: { error: unknown; kind: FaultKind }[] = [];
    const install = () =>
      watchProcessFaults({ log: l.log, faults: l.faults, pluginCode: () => l.registry.pluginCode() }, (error, kind) =>
        loaderFaults.push({ error, kind }),
      );
    const infer = (params: Record<string, string>, sid: string) =>
      l.dataplane.infer({ service: 'faults', params: { ...params, sid }, headers: {}, items: [text('hi')] });
    return { loader: l, lines, loaderFaults, install, infer };
  }

  const text = (s: string) => ({ key: 'text', type: 0 as const, status: 3 as const, encoding: '', attributes: {}, data: Buffer.from(s) });
  const faultsTotal = async (l: Loader, kind: string) => {
    const text = await (await fetch(url(l, '/metrics'))).text();
    return Number(new RegExp(`^aiges_plugin_faults_total\\{service="faults",kind="${kind}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };

  it('an unhandled rejection and a timer throw: logged with plugin, service and sid, counted; the loader serves on', async () => {
    const { loader: l, lines, loaderFaults, install, infer } = await start();
    await withOnlyLoaderHandlers(install, async () => {
      await infer({ fault: 'rejection' }, 'sid-rejection');
      await vi.waitFor(() => expect(lines.some((x) => x['kind'] === 'unhandled_rejection')).toBe(true));
      await infer({ fault: 'timer' }, 'sid-timer');
      await vi.waitFor(() => expect(lines.some((x) => x['kind'] === 'uncaught_exception')).toBe(true));
    });
    const rejection = lines.find((x) => x['kind'] === 'unhandled_rejection')!;
    expect(rejection).toMatchObject({
      level: 50,
      service: 'faults',
      sid: 'sid-rejection',
      plugin: join(FIXTURES, 'faults.ts'),
      isolation: 'none',
      err: { message: 'a rejection nobody awaits' },
    });
    expect(rejection['msg']).toMatch(/^plugin fault: unhandled rejection in plugin code: a rejection nobody awaits/);
    const timer = lines.find((x) => x['kind'] === 'uncaught_exception')!;
    expect(timer).toMatchObject({ service: 'faults', err: { message: 'thrown inside a timer' } });
    expect(timer['sid']).toBeUndefined(); // the error carries none
    expect(loaderFaults).toEqual([]);
    expect(await faultsTotal(l, 'unhandled_rejection')).toBe(1);
    expect(await faultsTotal(l, 'uncaught_exception')).toBe(1);
    // Still serving, still ready.
    expect((await infer({}, 'after'))[0]?.data.toString()).toBe('hi');
    expect((await get(l, '/v2/health/ready')).status).toBe(200);
  });

  it("a fault of the loader's own goes to the loader-fault handler, not counted as a plugin's", async () => {
    const { loader: l, loaderFaults, install, infer } = await start();
    await withOnlyLoaderHandlers(install, async () => {
      await infer({ fault: 'loader' }, 'sid-loader');
      await vi.waitFor(() => expect(loaderFaults).toHaveLength(1));
    });
    expect(loaderFaults[0]?.kind).toBe('uncaught_exception');
    expect(loaderFaults[0]?.error).toMatchObject({ message: 'a fault outside every plugin' });
    expect(await faultsTotal(l, 'uncaught_exception')).toBe(0);
  });
});
