/**
 * `[plugin.native] spin_us`: validated by the config schema, and handed by the native kind to the
 * host (spin_us = 0: no result is ever taken inline by a waiting JS thread).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../loader/config/load.js';
import type { LoaderConfig } from '../../loader/config/schema.js';
import { type NativeSection, nativeKind } from '../../loader/plugin/kind-native.js';
import { locatePlugin } from '../../loader/plugin/repository.js';
import type { NativeLibrary } from '../../native/host.js';
import { artifacts, ensureNativeBuild, item } from './helpers.js';

beforeAll(ensureNativeBuild, 240_000);

const withSpin = (spin_us: unknown) => ({ overrides: { plugin: { native: { spin_us } } } });
/** The `[plugin.native]` section of a loaded config (each kind's section is its own: kind-native.ts). */
const nativeSection = (config: Readonly<LoaderConfig>) => (config.plugin as unknown as Record<string, NativeSection>)['native']!;

describe('[plugin.native] spin_us', () => {
  it('is absent by default (the host default applies) and accepts 0 to 1000', () => {
    expect(nativeSection(loadConfig()).spin_us).toBeUndefined();
    expect(nativeSection(loadConfig(withSpin(0))).spin_us).toBe(0);
    expect(nativeSection(loadConfig(withSpin(1000))).spin_us).toBe(1000);
  });

  it.each([-1, 1001, 2.5, '50'])('rejects %j with a ConfigError naming the key', (value) => {
    expect(() => loadConfig(withSpin(value))).toThrow(ConfigError);
    expect(() => loadConfig(withSpin(value))).toThrow(/plugin\.native\.spin_us/);
  });

  it('reaches the host: with spin_us = 0 no exec result is taken inline', async () => {
    const wrapper = await nativeKind.load(locatePlugin(artifacts.echo, 'native'), {
      section: { service: 'native-echo', mode: 'once', async: false, spin_us: 0 },
      schema: undefined,
      concurrency: 1,
      aiges: { realTimeRlt: true },
    });
    // The wrapper's state is the NativeLibrary itself (kind-native.ts init).
    const lib = (await wrapper.init!({}, { meter: () => undefined } as never)) as NativeLibrary;
    try {
      for (let i = 0; i < 50; i++) {
        const out = await lib.exec(`s${i}`, {}, [item('d', `call ${i}`)], 5000);
        expect(out[0]!.data.toString()).toBe(`call ${i}`);
      }
      expect(lib.stats().inlineResults).toBe(0);
    } finally {
      await wrapper.fini?.(lib as never);
    }
  });
});
