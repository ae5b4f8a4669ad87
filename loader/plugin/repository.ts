/**
 * Finds a plugin on disk: which file to load and which kind it is. Loading is the registry's job.
 *
 * A path may name a module file (.ts .mts .js .mjs), or a folder holding one: the folder's
 * package.json "aiges.entry" or "main", else wrapper.ts, index.ts, wrapper.js, index.js.
 * A folder may also hold an `aiges.toml` that `aiges serve` uses when no --config is given.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { AigesError, Codes } from '../errors.js';
import { kindOfExtension } from './kinds.js';

export interface PluginLocation {
  /** Absolute path of the entry file. */
  entry: string;
  /** The plugin folder (the entry's folder when a file was named). */
  dir: string;
  kind: string;
  /** The folder's aiges.toml, when it has one. */
  defaultConfig: string | undefined;
}

const ENTRY_CANDIDATES = ['wrapper.ts', 'index.ts', 'wrapper.js', 'index.js', 'wrapper.mjs', 'index.mjs'];

export function locatePlugin(path: string, kind?: string): PluginLocation {
  const abs = resolve(path);
  if (!existsSync(abs)) throw pluginError(`plugin path ${abs} does not exist`);
  const dir = statSync(abs).isDirectory() ? abs : resolve(abs, '..');
  const entry = statSync(abs).isDirectory() ? folderEntry(abs) : abs;
  const inferred = kind ?? kindOfExtension(extname(entry));
  if (inferred === undefined) {
    throw pluginError(`cannot tell the kind of plugin ${entry}: set plugin.kind (ts, native or addon)`);
  }
  const toml = join(dir, 'aiges.toml');
  return { entry, dir, kind: inferred, defaultConfig: existsSync(toml) ? toml : undefined };
}

function folderEntry(dir: string): string {
  const pkgPath = join(dir, 'package.json');
  if (existsSync(pkgPath)) {
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { main?: string; aiges?: { entry?: string } };
    const named = pkg.aiges?.entry ?? pkg.main;
    if (named !== undefined) {
      const entry = resolve(dir, named);
      if (!existsSync(entry)) throw pluginError(`${pkgPath} names entry ${named}, which does not exist`);
      return entry;
    }
  }
  for (const name of ENTRY_CANDIDATES) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw pluginError(`no plugin entry in ${dir}: expected one of ${ENTRY_CANDIDATES.join(', ')}`);
}

function pluginError(message: string): AigesError {
  return new AigesError(Codes.PLUGIN_INIT, message);
}
