/**
 * What a command was pointed at, resolved one way for `aiges serve`, `aiges check` and `aiges image`:
 * which config file to load, and which plugin path to serve when that config names none.
 *
 * - a folder: its own aiges.toml (unless a config file is given); the folder is the plugin, except
 *   when that aiges.toml names `[plugin] path` (e.g. a native library built into the project);
 * - an aiges.toml: that file; its `[plugin] path`, else its folder, is the plugin;
 * - a plugin file: the aiges.toml beside it, if any (unless a config file is given); the file is the plugin.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, readTomlFile } from './load.js';

export interface PluginTarget {
  /** The project folder: the folder named, or the folder of the file named. */
  project: string;
  /** The config file to load, if any. */
  config: string | undefined;
  /** The plugin path to set over the config's (absolute); undefined: the config names it. */
  pluginPath: string | undefined;
}

/** Resolves `target` (a folder, an aiges.toml or a plugin file); `configFile` is an explicit `--config`. */
export function resolveTarget(target: string | undefined, configFile?: string): PluginTarget {
  if (configFile !== undefined && !existsSync(configFile)) throw new ConfigError(`config file ${configFile} does not exist`);
  if (target === undefined) return { project: process.cwd(), config: configFile, pluginPath: undefined };
  const abs = resolve(target);
  const isDir = existsSync(abs) && statSync(abs).isDirectory();
  if (!isDir && abs.endsWith('.toml')) {
    const config = configFile ?? abs;
    return { project: dirname(abs), config, pluginPath: namesPluginPath(config) ? undefined : dirname(abs) };
  }
  const project = isDir ? abs : dirname(abs);
  const own = join(project, 'aiges.toml');
  const config = configFile ?? (existsSync(own) ? own : undefined);
  const ownNamesPath = isDir && config === own && namesPluginPath(own);
  return { project, config, pluginPath: ownNamesPath ? undefined : abs };
}

/** Whether a TOML config sets `[plugin] path`. */
export function namesPluginPath(file: string): boolean {
  return (readTomlFile(file)['plugin'] as Record<string, unknown> | undefined)?.['path'] !== undefined;
}
