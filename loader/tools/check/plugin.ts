/**
 * Loads the plugin under check (or the plugin `aiges batch` runs) in-process, as `aiges serve` would but without servers: the same
 * config loading (file, `AIGES_*` env), the loader's plugin registry (find → kind → init under the
 * init timeout) and a data plane in front of it, so every sample takes the serving path.
 */
import { ConfigError, loadConfig } from '../../config/load.js';
import type { LoaderConfig } from '../../config/schema.js';
import type { Dataplane } from '../../dataplane/dataplane.js';
import { createLogger } from '../../log.js';
import { createPlane, loadOptions } from '../../plane.js';
import type { PluginInstance } from '../../plugin/instance.js';
import { locatePlugin, type PluginLocation } from '../../plugin/repository.js';
import type { Wrapper } from '../../../plugins/types.js';
import { ToolError } from '../errors.js';
import { CheckCodes } from './errors.js';
import type { PluginTarget } from '../../config/target.js';

export interface CheckedPlugin {
  dataplane: Dataplane;
  wrapper: Wrapper;
  /** The entry file and kind, for the report. */
  entry: string;
  kind: string;
  close(): Promise<void>;
}

function configFor(target: PluginTarget, env: NodeJS.ProcessEnv): Readonly<LoaderConfig> {
  const plugin = target.pluginPath === undefined ? {} : { plugin: { path: target.pluginPath } };
  // Samples run one at a time: capacity is no concern of a check, and logs would drown the report.
  return loadConfig({ file: target.config, env, overrides: { ...plugin, log: { level: 'silent' } } });
}

/** `loadCode`: the ToolError code of a config or plugin that fails to load (the calling tool's). */
export async function openPlugin(
  target: PluginTarget,
  env: NodeJS.ProcessEnv = process.env,
  loadCode: string = CheckCodes.LOAD,
): Promise<CheckedPlugin> {
  let config: Readonly<LoaderConfig>;
  try {
    config = configFor(target, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ToolError(loadCode, err.message);
    throw err;
  }
  const { registry, dataplane } = createPlane(config, createLogger(config.log.level));
  let instance: PluginInstance;
  let location: PluginLocation;
  try {
    const options = loadOptions(config);
    location = locatePlugin(options.path, options.kind);
    instance = await registry.load(options);
  } catch (err) {
    const code = (err as { aigesCode?: number }).aigesCode;
    throw new ToolError(loadCode, `plugin failed to load${code === undefined ? '' : ` (${code})`}: ${(err as Error).message}`);
  }
  return {
    dataplane,
    wrapper: instance.wrapper,
    entry: location.entry,
    kind: location.kind,
    close: () => registry.retireAll(1_000, config.plugin.fini_timeout_ms),
  };
}
