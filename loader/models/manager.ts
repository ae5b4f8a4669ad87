/**
 * The model repository at run time (docs/models.md): loads the models found on disk
 * (repository.ts) into the plugin registry, one service per model, and loads, reloads and unloads
 * them while the loader runs — through the repository API, or a poll of the folder.
 *
 * - A model that fails to load (a broken file, a bad config.toml, no version the policy picks)
 *   is logged and listed by `index` as UNAVAILABLE with the reason; the others serve on.
 * - A reload loads the new instance set beside the live one and switches (MLServer's
 *   load-before-unload); the old set is retired once its calls are done. A failed reload keeps
 *   the old set serving and says why in the index.
 * - An unload takes the service away at once (new calls: 10200), tells `onGone` (polaris
 *   deregisters before the drain), then waits for the calls still running and finalises.
 * Operations on one model run one at a time, in order.
 */
import { AigesError, Codes, named } from '../errors.js';
import type { Logger } from '../log.js';
import type { PluginInstance } from '../plugin/instance.js';
import type { InitOptions, PluginRegistry } from '../plugin/registry.js';
import { readModelConfig, servedVersions } from './model-config.js';
import { type ExecutionProvider, onnxWrapper } from './onnx-wrapper.js';
import { findModel, type ModelFolder, modelFile, scanRepository } from './repository.js';

export interface RepositorySettings {
  path: string;
  /** How often the folder is checked for new, changed and removed models; 0: never. */
  poll_interval_ms: number;
  execution_providers: readonly ExecutionProvider[];
}

/** A model's state in the repository index (Triton's names). */
export type ModelState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

/** One line of the repository index: a served version, or a model that serves none. */
export interface IndexEntry {
  name: string;
  /** The served version ("" when none is served). */
  version: string;
  state: ModelState;
  /** Why it is not READY (or why its last reload failed). */
  reason: string;
}

export interface ModelManagerDeps {
  registry: PluginRegistry;
  log: Logger;
  /** How a model's instance set is made (concurrency, init timeout). */
  initOptions: () => InitOptions;
  /** How long an unloaded or replaced set's calls may take to finish, and fini. */
  drainGraceMs: () => number;
  finiTimeoutMs: number;
  /** Services the loader serves otherwise (its plugin): a model may not take their name. */
  reserved: () => readonly string[];
  /** A model now serves (first load; not a reload). */
  onServing?: (name: string) => void;
  /** A model no longer serves (unload); called before its calls are drained. */
  onGone?: (name: string) => Promise<void>;
}

interface Model {
  state: ModelState;
  reason: string;
  versions: string[];
  /** The files' signature at the last load attempt (a poll reloads on a change). */
  signature: string | undefined;
  /** The last operation on this model (operations on one model run in order). */
  queue: Promise<unknown>;
}

export class ModelManager {
  readonly #models = new Map<string, Model>();
  readonly #retiring = new Set<Promise<unknown>>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(
    readonly settings: Readonly<RepositorySettings>,
    private readonly deps: ModelManagerDeps,
  ) {}

  /**
   * Loads every model of the repository (a failing one is reported, never thrown) and starts the
   * poll. Throws only when the repository folder cannot be read.
   */
  async start(): Promise<void> {
    const found = this.#scan(true) as Map<string, ModelFolder>;
    await Promise.all([...found.keys()].map((name) => this.load(name).catch(() => undefined)));
    const every = this.settings.poll_interval_ms;
    if (every > 0) {
      this.#timer = setInterval(() => {
        this.#polling ??= this.poll().finally(() => {
          this.#polling = undefined;
        });
      }, every);
      this.#timer.unref();
    }
  }

  /** The index: each served version of each model, and each model that serves none. */
  index(): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (const [name, m] of [...this.#models].sort(([a], [b]) => a.localeCompare(b))) {
      if (m.versions.length === 0) out.push({ name, version: '', state: m.state, reason: m.reason });
      for (const version of m.versions) out.push({ name, version, state: m.state, reason: m.reason });
    }
    return out;
  }

  /** Names of the models that serve now. */
  serving(): string[] {
    return [...this.#models].filter(([, m]) => m.state === 'READY').map(([name]) => name);
  }

  /**
   * Loads (or reloads) a model from its folder; resolves when it serves. Rejects with 10200 when
   * the repository has no such model folder, and with the load's error (10901, also kept in the
   * index) when it fails.
   */
  load(name: string): Promise<void> {
    return this.#enqueue(name, () => this.#load(name));
  }

  /** Unloads a model: resolves once its calls are done and it is finalised. 10200 for a model the repository never had. */
  unload(name: string): Promise<void> {
    if (!this.#models.has(name)) return Promise.reject(unknownModel(name));
    return this.#enqueue(name, () => this.#unload(name));
  }

  /** One look at the folder: loads new models, reloads changed ones, unloads removed ones. */
  async poll(): Promise<void> {
    const found = this.#scan(false);
    if (found === undefined || this.#closed) return;
    const work: Promise<unknown>[] = [];
    for (const [name, folder] of found) {
      const known = this.#models.get(name);
      // NOTE: a model unloaded through the API stays unloaded until its files change.
      if (known === undefined || known.signature !== folder.signature) work.push(this.load(name).catch(() => undefined));
    }
    for (const [name, m] of this.#models) {
      if (!found.has(name) && m.state !== 'UNAVAILABLE') work.push(this.unload(name).then(() => this.#models.delete(name)));
      else if (!found.has(name)) this.#models.delete(name);
    }
    await Promise.allSettled(work);
  }

  /** Stops the poll and waits for operations under way and retired sets (the loader's stop). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#polling;
    await Promise.allSettled([...this.#models.values()].map((m) => m.queue));
    await Promise.allSettled([...this.#retiring]);
  }

  #scan(strict: boolean): Map<string, ModelFolder> | undefined {
    try {
      return scanRepository(this.settings.path);
    } catch (err) {
      if (strict)
        throw new AigesError(Codes.PLUGIN_INIT, `cannot read the model repository ${this.settings.path}: ${(err as Error).message}`);
      this.deps.log.warn({ err, repository: this.settings.path }, 'cannot read the model repository; polling on');
      return undefined;
    }
  }

  #enqueue(name: string, op: () => Promise<void>): Promise<void> {
    let model = this.#models.get(name);
    if (model === undefined) {
      model = { state: 'UNAVAILABLE', reason: 'not loaded', versions: [], signature: undefined, queue: Promise.resolve() };
      this.#models.set(name, model);
    }
    const run = model.queue.then(op, op);
    model.queue = run.catch(() => undefined);
    return run;
  }

  async #load(name: string): Promise<void> {
    const model = this.#models.get(name) as Model;
    const { registry, log } = this.deps;
    const folder = findModel(this.settings.path, name);
    if (folder === undefined) {
      if (model.signature === undefined && model.state === 'UNAVAILABLE') this.#models.delete(name);
      throw unknownModel(name);
    }
    const serving = model.state === 'READY';
    if (!serving) model.state = 'LOADING';
    model.signature = folder.signature;
    const started = performance.now();
    try {
      if (this.deps.reserved().includes(name)) throw loadError(`model ${named(name)} has the name of the plugin this loader serves`);
      const config = readModelConfig(folder.dir);
      const versions = servedVersions(config.version_policy, folder.versions);
      if (versions.length === 0) {
        throw loadError(
          folder.versions.length === 0
            ? `model ${named(name)} has no version folder holding a model.onnx (${folder.dir}/<version>/model.onnx)`
            : `model ${named(name)}: no version on disk (${folder.versions.join(', ')}) matches its version_policy`,
        );
      }
      const wrapper = await onnxWrapper({
        id: name,
        versions: versions.map((v) => ({ version: String(v), file: modelFile(folder, v) })),
        config,
        providers: this.settings.execution_providers,
      });
      const instance = await registry.initWrapper(wrapper, this.deps.initOptions());
      if (this.#closed) {
        await instance.finalise(this.deps.finiTimeoutMs);
        throw loadError('the loader is stopping');
      }
      const old = registry.put(instance);
      if (old !== undefined) this.#retire(old);
      Object.assign(model, { state: 'READY', reason: '', versions: versions.map(String) });
      log.info(
        { model: name, versions: model.versions, description: wrapper.description, ms: Math.round(performance.now() - started) },
        serving ? 'model reloaded' : 'model loaded',
      );
      if (!serving) this.deps.onServing?.(name);
    } catch (err) {
      const reason = (err as Error).message;
      if (serving) {
        model.reason = `reload failed (the loaded versions serve on): ${reason}`;
        log.error({ model: name, err }, 'model reload failed; the loaded versions serve on');
      } else {
        Object.assign(model, { state: 'UNAVAILABLE', reason, versions: [] });
        log.error({ model: name, err }, 'model failed to load');
      }
      throw err;
    }
  }

  async #unload(name: string): Promise<void> {
    const model = this.#models.get(name) as Model;
    const set = this.deps.registry.remove(name);
    Object.assign(model, { state: set === undefined ? 'UNAVAILABLE' : 'UNLOADING', reason: 'unloaded' });
    if (set === undefined) {
      model.versions = [];
      return;
    }
    await this.deps.onGone?.(name);
    this.deps.log.info({ model: name }, 'model unloading');
    await this.#retireNow(set);
    Object.assign(model, { state: 'UNAVAILABLE', versions: [] });
    this.deps.log.info({ model: name }, 'model unloaded');
  }

  /** Retires a replaced set in the background (the reload does not wait for its calls). */
  #retire(set: PluginInstance): void {
    const done = this.#retireNow(set).finally(() => this.#retiring.delete(done));
    this.#retiring.add(done);
  }

  async #retireNow(set: PluginInstance): Promise<void> {
    if (!(await set.idle(this.deps.drainGraceMs()))) {
      this.deps.log.warn({ service: set.service, users: set.users }, 'finalising a model set with calls still running');
    }
    await set.finalise(this.deps.finiTimeoutMs);
  }
}

function unknownModel(name: string): AigesError {
  return new AigesError(Codes.SERVICE_NOT_FOUND, `the model repository has no model ${named(name)}`, { detail: { service: name } });
}

function loadError(message: string): AigesError {
  return new AigesError(Codes.PLUGIN_INIT, message);
}
