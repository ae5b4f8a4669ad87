/**
 * Faults that no call awaits: an unhandled promise rejection or an uncaught exception. A plugin's
 * fault is logged (one line naming the plugin, its service and the sid where known) and counted
 * (`aiges_plugin_faults_total{service,kind}`), and the loader goes on serving; a fault of the
 * loader's own ends the process, through the graceful stop, with a fatal line (the owner of the
 * process decides that: `aiges serve` wires `watchProcessFaults`).
 *
 * Which code a fault is from (`attributeFault`), in the loader's own thread:
 * - an Error's stack is read frame by frame (plain paths, file: URLs, and the data: URLs tsx gives
 *   CommonJS-style modules). A frame in a plugin's folder names that plugin, unless the file is
 *   the loader's own code (aiges-ts's loader/, plugins/ — the SDK —, native/, polaris/, proto/,
 *   source or built) or lies among the packages the loader itself loads (its node_modules). The
 *   innermost such frame wins, so a plugin that calls into a library whose timer throws is still
 *   the plugin's, and a frame of the loader's further out does not change that. An Error whose
 *   frames name no plugin file is the loader's, including one with no file frames at all (node's
 *   internals: sockets, streams — which the loader owns).
 * - a value with no stack (a rejection with a string, a number, a plain object) cannot be traced:
 *   it is the plugin's when exactly one service's plugin code runs in this thread (the usual `aiges
 *   serve`), since the loader's own code rejects and throws only Errors; with several, the loader's.
 * - the sid, where known: a `sid` string on the error (or its `cause`), as AigesErrors carry.
 * Limits: stacks hold `Error.stackTraceLimit` frames (10): a fault deep inside a library may have
 * lost the plugin's frames and counts as the loader's. When aiges-ts is installed inside the
 * plugin's own project (dev layout), its dependencies share the plugin's node_modules, so a fault
 * whose every frame lies in a dependency is the loader's. Plugins under `isolation = "worker"`
 * are attributed by thread instead (plugin/worker/): their code never runs here.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from './log.js';

export type FaultKind = 'unhandled_rejection' | 'uncaught_exception' | 'worker_exit';

/** Where the code of a plugin that runs in the loader's thread lies. */
export interface PluginCode {
  service: string;
  /** The plugin's folder (PluginLocation.dir). */
  dir: string;
  /** Its entry file. */
  entry: string;
}

export interface PluginFault {
  service: string;
  kind: FaultKind;
  /** What was thrown or rejected (any value). */
  error: unknown;
  sid?: string | undefined;
  /** The plugin's entry file. */
  plugin?: string | undefined;
  isolation?: string | undefined;
  /** The worker thread it happened on. */
  thread?: number | undefined;
}

/** Logs and counts plugin faults: one error line each, and `aiges_plugin_faults_total`. */
export class PluginFaults {
  constructor(
    private readonly log: Logger,
    /** Counts one fault (the loader: `aiges_plugin_faults_total`). */
    private readonly count: (service: string, kind: FaultKind) => void,
  ) {}

  report(fault: PluginFault): void {
    const { service, kind, error, sid, plugin, isolation, thread } = fault;
    this.count(service, kind);
    const what = kind === 'worker_exit' ? 'a worker thread of the plugin died' : `${kind.replace('_', ' ')} in plugin code`;
    this.log.error({ err: error, kind, service, sid, plugin, isolation, thread }, `plugin fault: ${what}: ${describe(error)}`);
  }
}

/** A one-line description of any thrown value. */
export function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'object' && value !== null) {
    const message = (value as { message?: unknown }).message;
    if (typeof message === 'string') return message;
    try {
      return JSON.stringify(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

/** The sid a fault carries, if any (AigesError.sid, on the error or its cause). */
export function sidOf(value: unknown): string | undefined {
  for (let v = value, depth = 0; typeof v === 'object' && v !== null && depth < 3; v = (v as { cause?: unknown }).cause, depth++) {
    const sid = (v as { sid?: unknown }).sid;
    if (typeof sid === 'string' && sid !== '') return sid;
  }
  return undefined;
}

// The aiges-ts package: this file is <base>/loader/faults.{ts,js}, base being the package root
// (source) or its dist/ (built).
const BASE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OWN_DIRS = ['loader', 'plugins', 'native', 'polaris', 'proto'].map((d) => join(BASE, d) + sep);

let loaderModules: string | undefined | null = null;
/** The node_modules folder the loader's own packages are loaded from (pino's, as the loader resolves it). */
function loaderModulesDir(): string | undefined {
  if (loaderModules === null) {
    try {
      const pino = createRequire(import.meta.url).resolve('pino');
      const at = pino.lastIndexOf(`${sep}node_modules${sep}`);
      loaderModules = at < 0 ? undefined : pino.slice(0, at + `${sep}node_modules${sep}`.length);
    } catch {
      loaderModules = undefined;
    }
  }
  return loaderModules;
}

/** The file a stack frame line names, as an absolute path; undefined for node internals and the like. */
export function frameFile(line: string): string | undefined {
  let at = line.trim();
  if (!at.startsWith('at ')) return undefined;
  at = at.slice(3);
  const open = at.lastIndexOf('(');
  if (open >= 0 && at.endsWith(')')) at = at.slice(open + 1, -1);
  // tsx's CommonJS modules: data:text/javascript,…?filePath=<encoded path>:line:col
  if (at.startsWith('data:')) {
    const m = /[?&]filePath=([^&:]+)/.exec(at);
    return m === null ? undefined : stripQuery(decodeURIComponent(m[1] as string));
  }
  const location = at.replace(/(?::\d+){1,2}$/, '');
  if (location.startsWith('file://')) {
    try {
      return fileURLToPath(stripQuery(location));
    } catch {
      return undefined;
    }
  }
  return location.startsWith('/') ? stripQuery(location) : undefined;
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

/** Who a fault belongs to: a plugin (with the sid where known) or, undefined, the loader. */
export interface Attribution {
  plugin: PluginCode;
  sid: string | undefined;
}

/** Tells a plugin's fault from the loader's (the rule is at the top of this file). */
export function attributeFault(value: unknown, plugins: readonly PluginCode[]): Attribution | undefined {
  if (plugins.length === 0) return undefined;
  const sid = sidOf(value);
  const stack = typeof value === 'object' && value !== null ? (value as { stack?: unknown }).stack : undefined;
  if (typeof stack !== 'string') {
    // Nothing to trace: the loader's own code throws and rejects only Errors.
    const services = new Set(plugins.map((p) => p.service));
    return services.size === 1 ? { plugin: plugins[0] as PluginCode, sid } : undefined;
  }
  const modules = loaderModulesDir();
  for (const line of stack.split('\n')) {
    const file = frameFile(line);
    if (file === undefined || OWN_DIRS.some((d) => file.startsWith(d))) continue;
    if (modules !== undefined && file.startsWith(modules)) continue;
    let owner: PluginCode | undefined;
    for (const p of plugins) {
      const dir = p.dir.endsWith(sep) ? p.dir : p.dir + sep;
      if (file.startsWith(dir) && (owner === undefined || p.dir.length > owner.dir.length)) owner = p;
    }
    if (owner !== undefined) return { plugin: owner, sid };
  }
  return undefined;
}

/** What `watchProcessFaults` reads and reports to. */
export interface FaultTarget {
  readonly log: Logger;
  readonly faults: PluginFaults;
  /** Plugins whose code runs in this thread now (PluginRegistry.pluginCode). */
  pluginCode(): readonly PluginCode[];
}

/**
 * Installs the process's unhandledRejection and uncaughtException handlers: a plugin's fault is
 * reported and the process goes on; anything else is handed to `onLoaderFault` (which should stop
 * gracefully and exit non-zero). Returns the uninstall. Only the owner of the process installs it
 * (`aiges serve`): a library loader must not take over a host's handlers.
 */
export function watchProcessFaults(
  target: FaultTarget,
  onLoaderFault: (error: unknown, kind: FaultKind) => void,
  proc: NodeJS.EventEmitter = process,
): () => void {
  const handle = (kind: FaultKind, value: unknown) => {
    let attribution: Attribution | undefined;
    try {
      attribution = attributeFault(value, target.pluginCode());
    } catch {
      attribution = undefined;
    }
    if (attribution === undefined) {
      onLoaderFault(value, kind);
      return;
    }
    const { plugin, sid } = attribution;
    target.faults.report({ service: plugin.service, kind, error: value, sid, plugin: plugin.entry, isolation: 'none' });
  };
  const onRejection = (reason: unknown) => handle('unhandled_rejection', reason);
  const onException = (err: unknown) => handle('uncaught_exception', err);
  proc.on('unhandledRejection', onRejection);
  proc.on('uncaughtException', onException);
  return () => {
    proc.off('unhandledRejection', onRejection);
    proc.off('uncaughtException', onException);
  };
}
