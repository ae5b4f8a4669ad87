/**
 * The `ts` kind: a TypeScript or JavaScript ES module whose default export is made by
 * `defineWrapper`. TypeScript loads through tsx, with no separate build step.
 */
import { pathToFileURL } from 'node:url';
import { AigesError, Codes } from '../errors.js';
import { describeProblems, isWrapper } from '../../plugins/define.js';
import type { Wrapper, WrapperDefinition } from '../../plugins/types.js';
import type { PluginKind } from './kinds.js';
import type { PluginLocation } from './repository.js';

async function importModule(entry: string): Promise<Record<string, unknown>> {
  if (/\.m?ts$/.test(entry)) {
    // Loaded on first use: the config schema imports every kind, and most commands load no TS plugin.
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(pathToFileURL(entry).href, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
}

/**
 * Imports a plugin module and returns its wrapper (the default export made by defineWrapper);
 * throws a 10901 error saying what is wrong. Also what a worker thread loads its plugin with.
 */
export async function importWrapper(entry: string): Promise<Wrapper> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(entry);
  } catch (err) {
    throw new AigesError(Codes.PLUGIN_INIT, `cannot import plugin ${entry}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // tsx may wrap a CommonJS-style default in another default.
  let candidate = mod['default'];
  if (!isWrapper(candidate) && isWrapper((candidate as Record<string, unknown> | undefined)?.['default'])) {
    candidate = (candidate as Record<string, unknown>)['default'];
  }
  const problems = typeof candidate === 'object' && candidate !== null ? describeProblems(candidate as WrapperDefinition<unknown>) : [];
  if (!isWrapper(candidate)) {
    const hint = problems.length > 0 ? ` (${problems.join('; ')})` : '';
    throw new AigesError(Codes.PLUGIN_INIT, `plugin ${entry} must default-export a wrapper made by defineWrapper()${hint}`);
  }
  // A branded object may still have been altered after defineWrapper checked it.
  if (problems.length > 0) {
    throw new AigesError(Codes.PLUGIN_INIT, `plugin ${entry} is not a valid wrapper: ${problems.join('; ')}`);
  }
  return candidate;
}

export const tsKind: PluginKind = {
  name: 'ts',
  extensions: ['.ts', '.mts', '.js', '.mjs'],
  load(location: PluginLocation): Promise<Wrapper> {
    return importWrapper(location.entry);
  },
};
