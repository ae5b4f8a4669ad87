/**
 * PluginRegistry.reinit (hot [wrapper] config): a new set of the live plugin with a fresh init and
 * the same code, served only after put; refused for kinds that cannot run two sets at once.
 */
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Codes } from '../../loader/errors.js';
import { pluginKind, registerPluginKind } from '../../loader/plugin/kinds.js';
import { PluginRegistry } from '../../loader/plugin/registry.js';

const CONFIGURABLE = join(resolve(import.meta.dirname, '../..'), 'test/fixtures/plugins/polaris-configurable.ts');
const registry = () => new PluginRegistry(pino({ level: 'silent' }), () => undefined);
const options = (config: Record<string, unknown>) => ({ config, concurrency: 2, initTimeoutMs: 5_000 });

describe('PluginRegistry.reinit', () => {
  it('inits a new set of the same wrapper with the new config, served only once put', async () => {
    const plugins = registry();
    const first = await plugins.load({ path: CONFIGURABLE, ...options({ prefix: 'a:' }) });
    const second = await plugins.reinit('configurable', options({ prefix: 'b:' }));
    expect(second.wrapper).toBe(first.wrapper);
    expect([first.state, second.state]).toEqual([{ prefix: 'a:' }, { prefix: 'b:' }]);
    expect(plugins.get('configurable')).toBe(first);
    expect(plugins.put(second)).toBe(first);
    expect(plugins.get('configurable')).toBe(second);
    await expect(plugins.reinit('configurable', options({ fail: true }))).rejects.toMatchObject({ aigesCode: Codes.PLUGIN_INIT });
    expect(plugins.get('configurable')).toBe(second);
  });

  it('is refused for a kind whose plugins hold process-wide state (native C ABI)', async () => {
    registerPluginKind({
      name: 'process-wide-test',
      extensions: [],
      sideBySide: false,
      load: (location, settings) => pluginKind('ts').load(location, settings),
    });
    const plugins = registry();
    await plugins.load({ path: CONFIGURABLE, kind: 'process-wide-test', ...options({}) });
    await expect(plugins.reinit('configurable', options({ prefix: 'x' }))).rejects.toThrow(
      /a process-wide-test plugin cannot run two instance sets at once .*restart the loader to change \[wrapper\]/,
    );
    expect(pluginKind('native').sideBySide).toBe(false);
  });
});
