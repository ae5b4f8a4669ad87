import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Codes } from '../../loader/errors.js';
import { PluginInstance, type InstanceOptions } from '../../loader/plugin/instance.js';
import { pluginKind } from '../../loader/plugin/kinds.js';
import { PluginRegistry } from '../../loader/plugin/registry.js';
import { locatePlugin } from '../../loader/plugin/repository.js';
import { defineWrapper } from '../../plugins/index.js';
import type { Wrapper, WrapperDefinition } from '../../plugins/types.js';

const root = resolve(import.meta.dirname, '../..');
const fixture = (name: string) => join(root, 'test/fixtures/plugins', `${name}.ts`);
const log = pino({ level: 'silent' });
const text = { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } } as const;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'aiges-loading-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Makes a folder under the temp dir holding the given files. */
function folder(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, body] of Object.entries(files)) writeFileSync(join(dir, file), body);
  return dir;
}

/** A few turns of the real event loop: pending promise chains settle; a fake clock does not move. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

function instance(wrapper: WrapperDefinition<unknown>, options: Partial<InstanceOptions> = {}) {
  return PluginInstance.create({
    wrapper: wrapper as Wrapper,
    config: {},
    log,
    concurrency: 1,
    initTimeoutMs: 5_000,
    meter: () => undefined,
    ...options,
  });
}

describe('locatePlugin', () => {
  it('a folder: its wrapper.ts, with its aiges.toml as the default config', () => {
    const dir = folder('plain', { 'wrapper.ts': '', 'index.ts': '', 'aiges.toml': '' });
    expect(locatePlugin(dir)).toEqual({ entry: join(dir, 'wrapper.ts'), dir, kind: 'ts', defaultConfig: join(dir, 'aiges.toml') });
  });

  it('a folder without wrapper.ts falls back to index.js; no aiges.toml → undefined', () => {
    const dir = folder('index-js', { 'index.js': '' });
    expect(locatePlugin(dir)).toEqual({ entry: join(dir, 'index.js'), dir, kind: 'ts', defaultConfig: undefined });
  });

  it('a file: itself, in its folder', () => {
    const dir = folder('file', { 'model.mts': '' });
    expect(locatePlugin(join(dir, 'model.mts'))).toMatchObject({ entry: join(dir, 'model.mts'), dir, kind: 'ts' });
  });

  it('a relative path resolves against the working directory', () => {
    expect(locatePlugin('demo/echo').entry).toBe(join(process.cwd(), 'demo/echo/wrapper.ts'));
  });

  it('a folder whose package.json names main (or aiges.entry, which wins)', () => {
    const main = folder('pkg-main', { 'package.json': JSON.stringify({ main: 'dist/plugin.js' }), 'wrapper.ts': '' });
    mkdirSync(join(main, 'dist'));
    writeFileSync(join(main, 'dist/plugin.js'), '');
    expect(locatePlugin(main).entry).toBe(join(main, 'dist/plugin.js'));

    const entry = folder('pkg-entry', {
      'package.json': JSON.stringify({ main: 'a.js', aiges: { entry: 'b.ts' } }),
      'a.js': '',
      'b.ts': '',
    });
    expect(locatePlugin(entry).entry).toBe(join(entry, 'b.ts'));

    const noMain = folder('pkg-none', { 'package.json': JSON.stringify({ name: 'x' }), 'index.ts': '' });
    expect(locatePlugin(noMain).entry).toBe(join(noMain, 'index.ts'));
  });

  it('package.json naming a missing entry → 10901 naming both', () => {
    const dir = folder('pkg-missing', { 'package.json': JSON.stringify({ main: 'gone.js' }) });
    expect(() => locatePlugin(dir)).toThrow(expect.objectContaining({ aigesCode: Codes.PLUGIN_INIT }));
    expect(() => locatePlugin(dir)).toThrow(/package\.json names entry gone\.js, which does not exist/);
  });

  it('a missing path → 10901 naming it', () => {
    const missing = join(tmp, 'nowhere');
    expect(() => locatePlugin(missing)).toThrow(expect.objectContaining({ aigesCode: Codes.PLUGIN_INIT }));
    expect(() => locatePlugin(missing)).toThrow(`plugin path ${missing} does not exist`);
  });

  it('a folder with no entry → 10901 listing the candidates', () => {
    const dir = folder('empty', { 'README.md': '' });
    expect(() => locatePlugin(dir)).toThrow(/no plugin entry in .*: expected one of wrapper\.ts, index\.ts/);
  });

  it('an unknown extension → a clear message saying to set plugin.kind; an explicit kind is taken as given', () => {
    const dir = folder('python', { 'wrapper.py': '' });
    const file = join(dir, 'wrapper.py');
    expect(() => locatePlugin(file)).toThrow(expect.objectContaining({ aigesCode: Codes.PLUGIN_INIT }));
    expect(() => locatePlugin(file)).toThrow(`cannot tell the kind of plugin ${file}: set plugin.kind (`);
    expect(locatePlugin(file, 'ts').kind).toBe('ts');
  });

  it('an unknown kind name → 10901 listing the known ones', () => {
    expect(() => pluginKind('python')).toThrow(expect.objectContaining({ aigesCode: Codes.PLUGIN_INIT }));
    expect(() => pluginKind('python')).toThrow(/^unknown plugin kind "python" \(known: .*\bts\b/);
  });
});

describe('PluginRegistry.load', () => {
  it('loads demo/echo from TypeScript source through tsx (no build step) and serves it', async () => {
    const registry = new PluginRegistry(log, () => undefined);
    const loaded = await registry.load({ path: join(root, 'demo/echo'), config: {}, concurrency: 2, initTimeoutMs: 10_000 });
    expect(loaded.service).toBe('echo');
    expect(loaded.wrapper.version).toBe('1.0.0');
    expect(registry.get('echo')).toBe(loaded);
    expect(registry.soleService()).toBe('echo');
    expect(registry.services()).toEqual([loaded]);
    expect(loaded.execSlots.slots).toBe(2);
    expect(() => registry.get('other')).toThrow(expect.objectContaining({ aigesCode: Codes.SERVICE_NOT_FOUND }));
  });

  it('loads a .ts fixture by file path, passing [wrapper] config to init', async () => {
    const registry = new PluginRegistry(log, () => undefined);
    const loaded = await registry.load({ path: fixture('http-gated'), config: { gates: 'none' }, concurrency: 1, initTimeoutMs: 5_000 });
    expect(loaded.service).toBe('gated');
    expect(loaded.config).toEqual({ gates: 'none' });
    expect(loaded.state).toEqual({});
  });

  it('an unknown kind → 10901', async () => {
    const registry = new PluginRegistry(log, () => undefined);
    await expect(
      registry.load({ path: join(root, 'demo/echo'), kind: 'python', config: {}, concurrency: 1, initTimeoutMs: 1_000 }),
    ).rejects.toMatchObject({ aigesCode: Codes.PLUGIN_INIT, message: expect.stringContaining('unknown plugin kind "python"') });
  });

  it('a module that cannot be imported → 10901 naming it', async () => {
    const dir = folder('syntax', { 'wrapper.ts': 'export default {{{' });
    const registry = new PluginRegistry(log, () => undefined);
    await expect(registry.load({ path: dir, config: {}, concurrency: 1, initTimeoutMs: 1_000 })).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringContaining(`cannot import plugin ${join(dir, 'wrapper.ts')}`),
    });
  });

  it('wrong-export → 10901 with a message naming defineWrapper and what is missing', async () => {
    const registry = new PluginRegistry(log, () => undefined);
    const err = await registry
      .load({ path: fixture('wrong-export'), config: {}, concurrency: 1, initTimeoutMs: 1_000 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ aigesCode: Codes.PLUGIN_INIT });
    expect((err as Error).message).toContain('must default-export a wrapper made by defineWrapper()');
    expect((err as Error).message).toContain('schema is required');
    expect(registry.services()).toEqual([]);
  });

  it('throws-init → 10901 carrying the plugin message; nothing becomes live', async () => {
    const registry = new PluginRegistry(log, () => undefined);
    await expect(registry.load({ path: fixture('throws-init'), config: {}, concurrency: 1, initTimeoutMs: 1_000 })).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: 'plugin throws-init init failed: model file missing: /nowhere/model.bin',
    });
    expect(registry.soleService()).toBeUndefined();
  });

  it('hangs-init with initTimeoutMs 200 → 10901 "did not finish within 200 ms", at 200 ms and not before', async () => {
    const registry = new PluginRegistry(log, () => undefined);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let outcome: unknown;
      void registry.load({ path: fixture('hangs-init'), config: {}, concurrency: 1, initTimeoutMs: 200 }).then(
        () => (outcome = 'loaded'),
        (err: unknown) => (outcome = err),
      );
      // The plugin is imported (real I/O), then its init starts under the timeout. (Not vi.waitFor:
      // under fake timers it advances the clock as it polls.)
      while (vi.getTimerCount() === 0) await turns(1);
      expect(vi.getTimerCount()).toBe(1);
      await vi.advanceTimersByTimeAsync(199);
      expect(outcome).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await turns();
      expect(outcome).toMatchObject({ aigesCode: Codes.PLUGIN_INIT, message: 'plugin hangs-init init did not finish within 200 ms' });
    } finally {
      vi.useRealTimers();
    }
    expect(registry.services()).toEqual([]);
  });
});

describe('PluginInstance', () => {
  it('init gets the config and an init context; what it returns becomes the state', async () => {
    let seen: unknown;
    const wrapper = defineWrapper({
      id: 'stateful',
      schema: text,
      init(config, ctx) {
        seen = { config, service: ctx.service, aborted: ctx.signal.aborted };
        return { model: config['model_dir'] };
      },
      exec: () => [],
    });
    const loaded = await instance(wrapper, { config: { model_dir: '/m' } });
    expect(seen).toEqual({ config: { model_dir: '/m' }, service: 'stateful', aborted: false });
    expect(loaded.state).toEqual({ model: '/m' });
  });

  it('an init overrun aborts the init signal with the 10901 error', async () => {
    let signal: AbortSignal | undefined;
    const wrapper = defineWrapper({
      id: 'slow-init',
      schema: text,
      init: (_config, ctx) => {
        signal = ctx.signal;
        return new Promise<never>(() => undefined);
      },
      exec: () => [],
    });
    await expect(instance(wrapper, { initTimeoutMs: 50 })).rejects.toMatchObject({ aigesCode: Codes.PLUGIN_INIT });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ aigesCode: Codes.PLUGIN_INIT, message: expect.stringContaining('50 ms') });
  });

  it('a schema with an unknown data type fails as 10901 naming the plugin', async () => {
    const wrapper = defineWrapper({ id: 'bad-schema', schema: { input: { x: { type: 'tensor' as 'text' } }, output: {} }, exec: () => [] });
    await expect(instance(wrapper)).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringMatching(/plugin bad-schema has an invalid schema: schema\.input\.x\.type/),
    });
  });
});

describe('PluginRegistry.retireAll and fini', () => {
  function finiProbe(behaviour: 'ok' | 'throws' | 'hangs' = 'ok') {
    const calls: unknown[] = [];
    const wrapper = defineWrapper({
      id: `fini-${behaviour}`,
      schema: text,
      init: () => ({ handle: 7 }),
      exec: () => [],
      fini(state) {
        calls.push(state);
        if (behaviour === 'throws') throw new Error('fini exploded');
        if (behaviour === 'hangs') return new Promise<void>(() => undefined);
        return undefined;
      },
    });
    return { calls, wrapper };
  }

  it('calls fini exactly once, with the state, and empties the registry', async () => {
    const { calls, wrapper } = finiProbe();
    const registry = new PluginRegistry(log, () => undefined);
    const set = await instance(wrapper);
    registry.put(set);
    await registry.retireAll(1_000, 1_000);
    expect(calls).toEqual([{ handle: 7 }]);
    expect(registry.services()).toEqual([]);
    await registry.retireAll(1_000, 1_000);
    await expect(set.finalise(1_000)).resolves.toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('waits for calls still using the set before fini', async () => {
    const { calls, wrapper } = finiProbe();
    const registry = new PluginRegistry(log, () => undefined);
    const set = await instance(wrapper);
    registry.put(set);
    set.enter();
    let retired = false;
    const retiring = registry.retireAll(10_000, 1_000).then(() => (retired = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(0);
    expect(retired).toBe(false);
    set.leave();
    await retiring;
    expect(set.users).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('finalises anyway after the grace when a call never finishes', async () => {
    const { calls, wrapper } = finiProbe();
    const registry = new PluginRegistry(log, () => undefined);
    const set = await instance(wrapper);
    registry.put(set);
    set.enter();
    await registry.retireAll(30, 1_000);
    expect(calls).toHaveLength(1);
  });

  it('a fini that hangs does not hang retireAll; finalise reports 10902', async () => {
    const { calls, wrapper } = finiProbe('hangs');
    const registry = new PluginRegistry(log, () => undefined);
    const set = await instance(wrapper);
    registry.put(set);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // Idle at once (no calls), so fini starts at once; retireAll gives up on it at the fini timeout.
      let retired = false;
      void registry.retireAll(1_000, 100).then(() => (retired = true));
      await vi.advanceTimersByTimeAsync(99);
      expect(calls).toHaveLength(1);
      expect(retired).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await turns();
      expect(retired).toBe(true);
    } finally {
      vi.useRealTimers();
    }

    const again = await instance(wrapper);
    await expect(again.finalise(50)).resolves.toMatchObject({
      aigesCode: Codes.PLUGIN_FINI,
      message: 'plugin fini-hangs fini failed: did not finish within 50 ms',
    });
  });

  it('a fini that throws does not reject retireAll; finalise reports 10902 with the message', async () => {
    const { calls, wrapper } = finiProbe('throws');
    const registry = new PluginRegistry(log, () => undefined);
    registry.put(await instance(wrapper));
    await expect(registry.retireAll(1_000, 1_000)).resolves.toBeUndefined();
    expect(calls).toHaveLength(1);
    await expect((await instance(wrapper)).finalise(1_000)).resolves.toMatchObject({
      aigesCode: Codes.PLUGIN_FINI,
      message: 'plugin fini-throws fini failed: fini exploded',
    });
  });

  it('put replaces the live set of a service and returns the old one', async () => {
    const registry = new PluginRegistry(log, () => undefined);
    const a = await instance(defineWrapper({ id: 'svc', schema: text, exec: () => [] }));
    const b = await instance(defineWrapper({ id: 'svc', schema: text, exec: () => [] }));
    expect(registry.put(a)).toBeUndefined();
    expect(registry.put(b)).toBe(a);
    expect(registry.get('svc')).toBe(b);
  });
});
