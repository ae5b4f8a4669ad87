/**
 * The `addon` kind: a Node-API module (`.node`, e.g. built with node-addon-api) whose exports
 * follow the TS wrapper contract — `id`, `schema`, `exec` and/or `session`, optional `init`/`fini`
 * (or a `default` export holding them). It is wrapped with defineWrapper, so it is checked and
 * served exactly like a TS plugin; its async methods must not block the event loop.
 */
import { createRequire } from 'node:module';
import { AigesError, Codes } from '../errors.js';
import { defineWrapper, describeProblems, isWrapper } from '../../plugins/define.js';
import type { Wrapper, WrapperDefinition } from '../../plugins/types.js';
import type { PluginKind } from './kinds.js';

const require = createRequire(import.meta.url);

export const addonKind: PluginKind = {
  name: 'addon',
  extensions: ['.node'],
  async load(location) {
    let exports: Record<string, unknown>;
    try {
      exports = require(location.entry) as Record<string, unknown>;
    } catch (err) {
      throw new AigesError(Codes.PLUGIN_INIT, `cannot load addon ${location.entry}: ${(err as Error).message}`, { cause: err });
    }
    const candidate = (typeof exports['default'] === 'object' ? exports['default'] : exports) as WrapperDefinition<unknown>;
    if (isWrapper(candidate)) return candidate;
    const problems = describeProblems(candidate);
    if (problems.length > 0) {
      throw new AigesError(Codes.PLUGIN_INIT, `addon ${location.entry} does not export a wrapper: ${problems.join('; ')}`);
    }
    return defineWrapper({ ...candidate }) as Wrapper;
  },
};
