/**
 * Loads the plugin under check in-process, as `aiges serve` would but without servers: the same
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
import type { CheckTarget } from './target.js';

export interface CheckedPlugin {
  dataplane: Dataplane;
  wrapper: Wrapper;
  /** The entry file and kind, for the report. */
  entry: string;
  kind: string;
  close(): Promise<void>;
}

function configFor(target: CheckTarget, env: NodeJS.ProcessEnv): Readonly<LoaderConfig> {
  const plugin = target.pluginPath === undefined ? {} : { plugin: { path: target.pluginPath } };
  // Samples run one at a time: capacity is no concern of a check, and logs would drown the report.
  return loadConfig({ file: target.config, env, overrides: { ...plugin, log: { level: 'silent' } } });
}

export async function openPlugin(target: CheckTarget, env: NodeJS.ProcessEnv = process.env): Promise<CheckedPlugin> {
  let config: Readonly<LoaderConfig>;
  try {
    config = configFor(target, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ToolError(CheckCodes.LOAD, err.message);
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
    throw new ToolError(CheckCodes.LOAD, `plugin failed to load${code === undefined ? '' : ` (${code})`}: ${(err as Error).message}`);
  }
  return {
    dataplane,
    wrapper: instance.wrapper,
    entry: location.entry,
    kind: location.kind,
    close: () => registry.retireAll(1_000, config.plugin.fini_timeout_ms),
  };
}
