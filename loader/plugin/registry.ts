/**
 * The plugin registry: loads plugins (find → kind → init), tracks the live instance set of each
 * service, and retires sets (drain, then fini). The data plane asks it which set serves a service.
 */
import { AigesError, Codes, named } from '../errors.js';
import { type PluginCode, PluginFaults } from '../faults.js';
import type { Logger } from '../log.js';
import type { Wrapper, WrapperConfig } from '../../plugins/types.js';
import { AigesSection, type BatchingConfig, DEFAULT_FINI_TIMEOUT_MS, type PluginSection } from '../config/schema.js';
import { PluginInstance } from './instance.js';
import { type IsolatedPlugin, isolationOf } from './isolation.js';
import { pluginKind } from './kinds.js';
import { locatePlugin, type PluginLocation } from './repository.js';

export interface LoadOptions {
  path: string;
  kind?: string | undefined;
  /** The [plugin] section: the kind reads its own `[plugin.<kind>]` and `schema` from it. */
  plugin?: Partial<PluginSection> | undefined;
  /** AIGes's `[aiges]` keys (defaults when absent). */
  aiges?: AigesSection | undefined;
  config: WrapperConfig;
  /** Once calls the plugin runs at a time (`plugin.concurrency`, resolved). */
  concurrency: number;
  initTimeoutMs: number;
  /** `[plugin.batching]`: overrides of the wrapper's own batching settings. */
  batching?: BatchingConfig | undefined;
}

/** How an instance set is made, whatever found its wrapper. */
export type InitOptions = Pick<LoadOptions, 'config' | 'concurrency' | 'initTimeoutMs' | 'batching'>;

/** Told when the live set of a service can serve or not (and why). */
export type ReadinessListener = (service: string, ready: boolean, reasons: string[]) => void;

export class PluginRegistry {
  readonly #live = new Map<string, PluginInstance>();
  readonly #readiness = new Set<ReadinessListener>();
  /** How each set's plugin was loaded (hot reload asks it whether sets may live side by side). */
  readonly #loaded = new WeakMap<PluginInstance, { plugin: IsolatedPlugin; kind: string }>();
  /** Plugins loaded into the loader's own thread, by folder: whose faults are whose (faults.ts). */
  readonly #code = new Map<string, PluginCode>();
  /** Loads under way, and the services they initialise that have no live set yet. */
  #loads = 0;
  readonly #initialising = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly meter: (service: string, key: string, count: number) => void,
    /** Where isolations report faults of plugin code outside any call (default: logged, not counted). */
    readonly faults: PluginFaults = new PluginFaults(log, () => undefined),
    /** A plugin's process crashed (isolations that run plugins apart: aiges_plugin_crashes_total). */
    private readonly onCrash: (service: string) => void = () => undefined,
  ) {}

  /** Loads and initialises a plugin, and makes it the live set of its service. */
  async load(options: LoadOptions): Promise<PluginInstance> {
    this.#loads++;
    try {
      const instance = await this.init(options);
      this.put(instance);
      return instance;
    } finally {
      this.#loads--;
    }
  }

  /**
   * Loads and initialises a new instance set without serving it: hot config initialises the next
   * set beside the live one, then switches with `put` (MLServer's load-before-unload). Throws, with
   * nothing changed, when the plugin fails to load or init.
   */
  async init(options: LoadOptions): Promise<PluginInstance> {
    const location: PluginLocation = locatePlugin(options.path, options.kind);
    const kind = pluginKind(location.kind);
    const plugin = options.plugin ?? {};
    const isolation = isolationOf(plugin.isolation ?? 'none');
    const settings = {
      concurrency: options.concurrency,
      section: (plugin as Record<string, unknown>)[kind.name],
      schema: plugin.schema,
      aiges: options.aiges ?? AigesSection.parse({}),
    };
    const loaded = await isolation.load({
      location,
      kind,
      settings,
      log: this.log,
      faults: this.faults,
      initTimeoutMs: options.initTimeoutMs,
      finiTimeoutMs: plugin.fini_timeout_ms ?? DEFAULT_FINI_TIMEOUT_MS,
      onCrash: this.onCrash,
    });
    const { wrapper } = loaded;
    if (loaded.code !== undefined) this.#code.set(loaded.code.dir, { service: wrapper.id, ...loaded.code });
    this.log.info(
      { plugin: location.entry, kind: location.kind, isolation: isolation.name, service: wrapper.id },
      'plugin loaded, initialising',
    );
    return this.#create(wrapper, { plugin: loaded, kind: kind.name }, options);
  }

  /**
   * Initialises an instance set of a wrapper already in memory (the test harness, an in-process
   * plugin) and makes it the live set of its service.
   */
  async loadWrapper(wrapper: Wrapper, options: InitOptions): Promise<PluginInstance> {
    this.#loads++;
    try {
      const instance = await this.#create(wrapper, undefined, options);
      this.put(instance);
      return instance;
    } finally {
      this.#loads--;
    }
  }

  /**
   * Initialises an instance set of a wrapper already in memory without serving it (a repository
   * model: loaded beside the live set, then switched with `put`). Throws, with nothing changed,
   * when init fails.
   */
  initWrapper(wrapper: Wrapper, options: InitOptions): Promise<PluginInstance> {
    return this.#create(wrapper, undefined, options);
  }

  async #create(
    wrapper: Wrapper,
    loaded: { plugin: IsolatedPlugin; kind: string } | undefined,
    options: InitOptions,
  ): Promise<PluginInstance> {
    const started = performance.now();
    const first = !this.#live.has(wrapper.id);
    if (first) this.#initialising.add(wrapper.id);
    let instance: PluginInstance;
    try {
      instance = await PluginInstance.create({
        wrapper,
        config: options.config,
        log: this.log,
        concurrency: options.concurrency,
        initTimeoutMs: options.initTimeoutMs,
        batching: options.batching,
        meter: this.meter,
        releaseOutput: loaded?.plugin.releaseOutput,
      });
    } finally {
      if (first) this.#initialising.delete(wrapper.id);
    }
    this.log.info(
      { service: wrapper.id, description: wrapper.description, ms: Math.round(performance.now() - started) },
      'plugin initialised',
    );
    if (loaded !== undefined) {
      this.#loaded.set(instance, loaded);
      loaded.plugin.attach?.(instance);
    }
    // Only the live set of a service speaks for its readiness.
    instance.watchReadiness((ready, reasons) => {
      if (this.#live.get(instance.service) === instance) this.#tellReadiness(instance.service, ready, reasons);
    });
    return instance;
  }

  /**
   * The plugins whose code runs in the loader's own thread (isolation "none"), as loaded: a module
   * stays in memory once imported, so a retired set's code is still listed.
   */
  pluginCode(): PluginCode[] {
    return [...this.#code.values()];
  }

  /** Tells `listener` when the live set of a service can serve or not; returns the unsubscribe. */
  onReadiness(listener: ReadinessListener): () => void {
    this.#readiness.add(listener);
    return () => this.#readiness.delete(listener);
  }

  #tellReadiness(service: string, ready: boolean, reasons: string[]): void {
    for (const listener of this.#readiness) listener(service, ready, reasons);
  }

  /**
   * A new instance set of a live service's plugin with another [wrapper] config, for hot config:
   * the same wrapper (its module is not loaded again), a fresh `init`. Not served until `put`.
   * Throws, with nothing changed, when init fails or the plugin's kind cannot run two sets at once.
   */
  async reinit(service: string, options: InitOptions): Promise<PluginInstance> {
    const live = this.get(service);
    const loaded = this.#loaded.get(live);
    if (loaded?.plugin.sideBySide === false) {
      throw new AigesError(
        Codes.PLUGIN_INIT,
        `a ${loaded.kind} plugin cannot run two instance sets at once (its init and fini are process-wide): restart the loader to change [wrapper]`,
      );
    }
    return this.#create(live.wrapper, loaded, options);
  }

  /**
   * Makes an instance the live set of its service: calls admitted from now on use it, calls already
   * running keep the set they started with. Returns the set it replaced, which the caller retires
   * (`idle`, then `finalise`).
   */
  put(instance: PluginInstance): PluginInstance | undefined {
    const old = this.#live.get(instance.service);
    this.#live.set(instance.service, instance);
    if (old?.ready !== instance.ready || !instance.ready) this.#tellReadiness(instance.service, instance.ready, instance.reasons);
    return old;
  }

  /**
   * Stops serving a service (a repository model's unload): calls admitted from now on get
   * 10200, calls already running keep their set. Returns the set, which the caller retires
   * (`idle`, then `finalise`); undefined when the service was not served.
   */
  remove(service: string): PluginInstance | undefined {
    const old = this.#live.get(service);
    if (old === undefined) return undefined;
    this.#live.delete(service);
    // A service that is gone no longer holds the loader's readiness back.
    this.#tellReadiness(service, true, []);
    return old;
  }

  /** Whether a live set serves `service`. */
  has(service: string): boolean {
    return this.#live.has(service);
  }

  get(service: string): PluginInstance {
    const instance = this.#live.get(service);
    if (instance === undefined) {
      // A service that is coming is unavailable for now (retry), not unknown.
      if (this.#initialising.has(service)) {
        throw new AigesError(Codes.INSTANCE_INACTIVE, `service ${named(service)} is not ready: its plugin is initialising`, {
          detail: { service },
        });
      }
      if (this.#loads > 0 && this.#live.size === 0) {
        throw new AigesError(Codes.INSTANCE_INACTIVE, 'the loader is starting: its plugin is loading', { detail: { service } });
      }
      throw new AigesError(Codes.SERVICE_NOT_FOUND, `unknown service ${named(service)}`, {
        detail: { service, served: [...this.#live.keys()] },
      });
    }
    return instance;
  }

  /** The only service, when exactly one is served (lets clients omit the service id). */
  soleService(): string | undefined {
    return this.#live.size === 1 ? [...this.#live.keys()][0] : undefined;
  }

  services(): PluginInstance[] {
    return [...this.#live.values()];
  }

  /** Waits for every live set to go idle (up to graceMs), then finalises it. */
  async retireAll(graceMs: number, finiTimeoutMs: number): Promise<void> {
    const sets = [...this.#live.values()];
    this.#live.clear();
    await Promise.all(
      sets.map(async (set) => {
        if (!(await set.idle(graceMs))) {
          this.log.warn({ service: set.service, users: set.users }, 'finalising with calls still running');
        }
        await set.finalise(finiTimeoutMs);
      }),
    );
  }
}
