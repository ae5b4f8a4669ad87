/**
 * Plugin kinds, registered by name. A kind turns a located entry file into a wrapper definition;
 * everything after that (init, calls, fini) is the same for every kind.
 */
import { AigesError, Codes } from '../errors.js';
import type { Wrapper } from '../../plugins/types.js';
import type { PluginSection } from '../config/schema.js';
import type { PluginLocation } from './repository.js';

export interface PluginKind {
  readonly name: string;
  /**
   * Whether two instance sets of one plugin may live at once (default true). A hot [wrapper] change
   * initialises the new set before finalising the old, which is wrong for plugins with
   * process-wide state (AIGes C ABI: wrapperInit/wrapperFini act on the whole library).
   */
  readonly sideBySide?: boolean;
  /** Turns the located entry into a wrapper; `settings` is the [plugin] config section. */
  load(location: PluginLocation, settings: Partial<PluginSection>): Promise<Wrapper>;
}

const kinds = new Map<string, PluginKind>();

export function registerPluginKind(kind: PluginKind): void {
  if (kinds.has(kind.name)) throw new Error(`plugin kind "${kind.name}" is registered twice`);
  kinds.set(kind.name, kind);
}

export function pluginKind(name: string): PluginKind {
  const kind = kinds.get(name);
  if (kind === undefined) {
    throw new AigesError(Codes.PLUGIN_INIT, `unknown plugin kind "${name}" (known: ${[...kinds.keys()].join(', ')})`);
  }
  return kind;
}
