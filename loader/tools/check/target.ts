/**
 * What `aiges check <target>` checks: a plugin folder, an aiges.toml or a plugin file, resolved as
 * `aiges serve` resolves it (loader/config/target.ts). Samples default to
 * `<project>/samples/requests.toml`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type PluginTarget, resolveTarget as resolvePluginTarget } from '../../config/target.js';
import { ToolError } from '../errors.js';
import { CheckCodes } from './errors.js';

export interface CheckTarget extends PluginTarget {
  samples: string;
}

export function resolveTarget(target: string, samples?: string): CheckTarget {
  const abs = resolve(target);
  if (!existsSync(abs)) throw new ToolError(CheckCodes.TARGET, `${abs} does not exist: give a plugin folder, plugin file or aiges.toml`);
  const resolved = resolvePluginTarget(abs);
  return { ...resolved, samples: samples !== undefined ? resolve(samples) : join(resolved.project, 'samples', 'requests.toml') };
}
