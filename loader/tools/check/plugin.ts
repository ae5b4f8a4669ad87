/**
 * Loads the plugin under check (or the plugin `aiges batch` runs) in-process, as `aiges serve` would but without servers: the same
 * config loading (file, `AIGES_*` env), the loader's plugin registry (find → kind → init under the
 * init timeout) and a data plane in front of it, so every sample takes the serving path. With a
 * `[repository]` (config file or `AIGES_REPOSITORY_PATH`), its models are loaded beside the
 * plugin as `aiges serve --model-repository` loads them, so a plugin that calls a repository model
 * (`ctx.infer`) runs in-process too.
 */
import { ConfigError, loadConfig } from '../../config/load.js';
import { execConcurrency, type LoaderConfig } from '../../config/schema.js';
import type { Dataplane } from '../../dataplane/dataplane.js';
import { createLogger } from '../../log.js';
import { ModelManager } from '../../models/manager.js';
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
  const log = createLogger(config.log.level);
  const { registry, dataplane } = createPlane(config, log);
  let instance: PluginInstance | undefined;
  let location: PluginLocation;
  const models =
    config.repository &&
    new ModelManager(config.repository, {
      registry,
      log,
      initOptions: () => ({ config: {}, concurrency: execConcurrency(config), initTimeoutMs: config.plugin.init_timeout_ms }),
      drainGraceMs: () => config.limits.drain_grace_ms,
      finiTimeoutMs: config.plugin.fini_timeout_ms,
      reserved: () => (instance === undefined ? [] : [instance.wrapper.id]),
    });
  try {
    const options = loadOptions(config);
    location = locatePlugin(options.path, options.kind);
    instance = await registry.load(options);
    // NOTE: as in `aiges serve`, a model that fails to load is refused per call (10200), not here.
    await models?.start();
  } catch (err) {
    await models?.close();
    const code = (err as { aigesCode?: number }).aigesCode;
    throw new ToolError(loadCode, `plugin failed to load${code === undefined ? '' : ` (${code})`}: ${(err as Error).message}`);
  }
  return {
    dataplane,
    wrapper: (instance as PluginInstance).wrapper,
    entry: location.entry,
    kind: location.kind,
    close: async () => {
      await models?.close();
      await registry.retireAll(1_000, config.plugin.fini_timeout_ms);
    },
  };
}
