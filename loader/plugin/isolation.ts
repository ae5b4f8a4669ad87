/**
 * Where a plugin runs (`[plugin] isolation`), registered by name like the kinds. An isolation
 * loads a located plugin of a kind and hands the registry the wrapper the data plane serves, so the
 * data plane sees the same wrapper interface whatever the isolation. `none` runs the plugin in the
 * loader process, as its kind loads it; `worker` a TS plugin on a pool of worker threads
 * (worker/isolation.ts); `process` in a supervised child process (process/isolation.ts). Adding one is its own file and one entry in BUILT_IN_ISOLATIONS.
 */
import type { PluginFaults } from '../faults.js';
import type { Logger } from '../log.js';
import type { Wrapper } from '../../plugins/types.js';
import type { PluginInstance } from './instance.js';
import type { KindSettings, PluginKind } from './kinds.js';
import { processIsolation } from './process/isolation.js';
import type { PluginLocation } from './repository.js';
import { workerIsolation } from './worker/isolation.js';

/** What an isolation is asked to load. */
export interface IsolatedLoad {
  location: PluginLocation;
  kind: PluginKind;
  settings: KindSettings;
  log: Logger;
  /** Where faults of plugin code outside any call (unhandled rejections, a dead thread) are reported. */
  faults: PluginFaults;
  /** `plugin.init_timeout_ms` and `plugin.fini_timeout_ms`, for inits and finis the isolation runs itself (a restart). */
  initTimeoutMs: number;
  finiTimeoutMs: number;
  /** Counts a crash of the service's plugin (aiges_plugin_crashes_total). */
  onCrash: (service: string) => void;
}

/** A plugin loaded under an isolation. */
export interface IsolatedPlugin {
  /** What the data plane serves. */
  wrapper: Wrapper;
  /** Takes back an output's memory once a transport has serialized it (PluginKind.releaseOutput). */
  releaseOutput?: ((data: Buffer) => void) | undefined;
  /**
   * Whether two instance sets of the plugin may live at once (hot [wrapper] change); default the
   * kind's `sideBySide`.
   */
  sideBySide?: boolean | undefined;
  /** Called once with each instance set made of `wrapper` (to block its readiness, watch stuck calls). */
  attach?(instance: PluginInstance): void;
  /**
   * Where the plugin's code lies when it runs in the loader's own thread: the loader's fault
   * handlers blame faults whose stack passes through that folder on the plugin (faults.ts).
   * Absent when the plugin runs elsewhere (a worker thread, a child process).
   */
  code?: { dir: string; entry: string } | undefined;
}

export interface Isolation {
  readonly name: string;
  load(request: IsolatedLoad): Promise<IsolatedPlugin>;
}

/** In the loader process, as the kind loads it. */
export const noIsolation: Isolation = {
  name: 'none',
  async load({ location, kind, settings }) {
    return {
      wrapper: await kind.load(location, settings),
      releaseOutput: kind.releaseOutput?.bind(kind),
      sideBySide: kind.sideBySide,
      code: { dir: location.dir, entry: location.entry },
    };
  },
};

/** The isolations built in. */
export const BUILT_IN_ISOLATIONS: readonly Isolation[] = [noIsolation, workerIsolation, processIsolation];

const isolations = new Map<string, Isolation>(BUILT_IN_ISOLATIONS.map((i) => [i.name, i]));

export function isolationOf(name: string): Isolation {
  const isolation = isolations.get(name);
  if (isolation === undefined) throw new Error(`unknown plugin isolation "${name}" (known: ${[...isolations.keys()].join(', ')})`);
  return isolation;
}
