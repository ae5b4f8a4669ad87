/**
 * Plugin kinds, registered by name. A kind turns a located entry file into a wrapper definition;
 * everything after that (init, calls, fini) is the same for every kind. Each kind owns its file
 * (kind-*.ts): its name, the file extensions that mean it, its own config section
 * (`[plugin.<name>]`, validated with the rest of the config), and how it loads.
 */
import type { z } from 'zod';
import { AigesError, Codes } from '../errors.js';
import type { Wrapper } from '../../plugins/types.js';
import { addonKind } from './kind-addon.js';
import { nativeKind } from './kind-native.js';
import { onnxKind } from './kind-onnx.js';
import { tsKind } from './kind-ts.js';
import type { AigesSection } from '../config/schema.js';
import type { PluginLocation } from './repository.js';

/** What a kind gets to load a plugin with. */
export interface KindSettings {
  /** Once calls the plugin runs at a time (`plugin.concurrency`, resolved): a native library's worker threads. */
  concurrency: number;
  /** The kind's own `[plugin.<name>]` section, validated by its `section` schema (undefined when it has none). */
  section: unknown;
  /** `[plugin] schema`, for kinds that cannot declare a schema themselves. */
  schema: unknown;
  /** AIGes's own `[aiges]` keys, for kinds that run AIGes wrappers. */
  aiges: AigesSection;
  /**
   * Set in a plugin process (`[plugin] isolation = "process"`, process/child.ts): its JS thread
   * serves this plugin and nothing else, so a kind may block it for a call (kind-native.ts).
   */
  ownProcess?: boolean;
}

export interface PluginKind {
  readonly name: string;
  /** File extensions (with the dot) that mean this kind when `[plugin] kind` is not set. */
  readonly extensions: readonly string[];
  /** The kind's own config section, `[plugin.<name>]`, with its defaults. */
  readonly section?: z.ZodType | undefined;
  /**
   * Whether two instance sets of one plugin may live at once (default true). A hot [wrapper] change
   * initialises the new set before finalising the old, which is wrong for plugins with
   * process-wide state (AIGes C ABI: wrapperInit/wrapperFini act on the whole library).
   */
  readonly sideBySide?: boolean;
  /** Turns the located entry into a wrapper. */
  load(location: PluginLocation, settings: KindSettings): Promise<Wrapper>;
  /**
   * Takes back the memory of an output a transport has finished with (called by the data plane
   * once the answer is serialized); optional.
   */
  releaseOutput?(data: Buffer): void;
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

/** The kind a file extension means, if any. */
export function kindOfExtension(extension: string): string | undefined {
  for (const kind of kinds.values()) if (kind.extensions.includes(extension)) return kind.name;
  return undefined;
}

/** The kinds built in: adding one is its own file and one entry here. */
export const BUILT_IN_KINDS: readonly PluginKind[] = [tsKind, nativeKind, addonKind, onnxKind];

for (const kind of BUILT_IN_KINDS) registerPluginKind(kind);
