/**
 * What `aiges check <target>` checks: a plugin folder (its aiges.toml when it has one), an
 * aiges.toml (its `[plugin] path`), or a plugin file. Samples default to
 * `<project>/samples/requests.toml`, the project being the folder of the folder, file or toml.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CheckCodes, CheckError } from './errors.js';

export interface CheckTarget {
  /** The config file to load, if any. */
  config: string | undefined;
  /** The plugin path when the config does not name one. */
  pluginPath: string;
  project: string;
  samples: string;
}

export function resolveTarget(target: string, samples?: string): CheckTarget {
  const abs = resolve(target);
  if (!existsSync(abs)) throw new CheckError(CheckCodes.TARGET, `${abs} does not exist: give a plugin folder, plugin file or aiges.toml`);
  const isDir = statSync(abs).isDirectory();
  const project = isDir ? abs : dirname(abs);
  let config: string | undefined;
  if (!isDir && abs.endsWith('.toml')) config = abs;
  else if (existsSync(join(project, 'aiges.toml'))) config = join(project, 'aiges.toml');
  return {
    config,
    pluginPath: isDir ? abs : abs.endsWith('.toml') ? project : abs,
    project,
    samples: samples !== undefined ? resolve(samples) : join(project, 'samples', 'requests.toml'),
  };
}
