/**
 * An initialised plugin instance set: the wrapper, what its init returned, its compiled schema,
 * its exec slots, and the count of calls and sessions using it (a retired set is finalised only
 * when idle). Created by the registry; the data plane serves calls through it.
 */
import { AigesError, Codes, wrapPluginError } from '../errors.js';
import { InUse } from '../lib/in-use.js';
import { withTimeout } from '../lib/timeout.js';
import type { Logger } from '../log.js';
import type { BatchingConfig } from '../config/schema.js';
import type { DataItem, Wrapper, WrapperConfig } from '../../plugins/types.js';
import { ExecSlots } from './exec-slots.js';
import { CompiledSchema } from './schema.js';

export interface InstanceOptions {
  wrapper: Wrapper;
  config: WrapperConfig;
  log: Logger;
  /** Once calls (execs) inside the plugin at a time: `plugin.concurrency`, resolved. */
  concurrency: number;
  initTimeoutMs: number;
  /** `[plugin.batching]`: overrides of the wrapper's own batching settings. */
  batching?: BatchingConfig | undefined;
  meter: (service: string, key: string, count: number) => void;
  /**
   * The plugin kind's hook for outputs a transport has finished with (PluginKind.releaseOutput);
   * absent when the kind has none.
   */
  releaseOutput?: ((data: Buffer) => void) | undefined;
}

/** Batching settings in effect for an instance set. */
export interface Batching {
  /** The most rows one exec receives (≥ 2). */
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Preferred batch sizes up to maxBatchSize, ascending (possibly none). */
  preferredBatchSizes: readonly number[];
}

/**
 * The wrapper's `batching` with `[plugin.batching]` over it; undefined when batching is off (no
 * once mode, or a max batch size under 2). The config may turn batching on for a plugin that does
 * not declare it: whoever deploys it says its exec takes a leading batch dimension.
 */
export function resolveBatching(wrapper: Wrapper, config: BatchingConfig | undefined): Batching | undefined {
  const own = wrapper.batching;
  const maxBatchSize = config?.max_batch_size ?? own?.maxBatchSize ?? 0;
  if (wrapper.exec === undefined || maxBatchSize < 2) return undefined;
  const preferred = config?.preferred_batch_sizes ?? own?.preferredBatchSizes ?? [];
  return {
    maxBatchSize,
    maxQueueDelayMs: config?.max_queue_delay_ms ?? own?.maxQueueDelayMs ?? 0,
    preferredBatchSizes: [...new Set(preferred.filter((n) => n <= maxBatchSize))].sort((a, b) => a - b),
  };
}

export class PluginInstance {
  readonly wrapper: Wrapper;
  /** The latest version's schema (the wrapper's `schema`). */
  readonly schema: CompiledSchema;
  /** The schemas of versions whose tensors differ from the latest's (`versionSchemas`). */
  readonly #versionSchemas = new Map<string, CompiledSchema>();
  readonly config: WrapperConfig;
  readonly log: Logger;
  readonly execSlots: ExecSlots;
  /** Dynamic batching of once calls, resolved (the wrapper's values under the config's); undefined: off. */
  readonly batching: Batching | undefined;
  readonly meter: (key: string, count?: number) => void;
  readonly #releaseOutput: ((data: Buffer) => void) | undefined;
  /** Calls and sessions that hold something of this set (their plugin work has not finished). */
  readonly #users = new InUse();
  /** Why the set cannot serve now, by cause (empty: it can). */
  readonly #blocks = new Map<string, string>();
  readonly #readiness = new Set<(ready: boolean, reasons: string[]) => void>();
  /** Execs abandoned longer than the hang grace ago that still hold their exec slot. */
  #stuck = 0;
  #hangGraceMs = 0;
  #state: unknown = undefined;
  #finalised = false;

  private constructor(options: InstanceOptions) {
    this.wrapper = options.wrapper;
    this.config = options.config;
    this.log = options.log.child({ service: options.wrapper.id });
    let which = 'schema';
    try {
      this.schema = new CompiledSchema(options.wrapper.schema);
      for (const [version, schema] of Object.entries(options.wrapper.versionSchemas ?? {})) {
        which = `schema of version ${version}`;
        this.#versionSchemas.set(version, new CompiledSchema(schema));
      }
    } catch (err) {
      throw new AigesError(Codes.PLUGIN_INIT, `plugin ${options.wrapper.id} has an invalid ${which}: ${(err as Error).message}`);
    }
    this.execSlots = new ExecSlots(options.concurrency);
    this.batching = resolveBatching(options.wrapper, options.batching);
    this.meter = (key, count = 1) => options.meter(options.wrapper.id, key, count);
    this.#releaseOutput = options.releaseOutput;
  }

  get service(): string {
    return this.wrapper.id;
  }

  /** The schema requests for `version` are checked against (absent: the latest's). */
  schemaOf(version: string | undefined): CompiledSchema {
    return (version === undefined ? undefined : this.#versionSchemas.get(version)) ?? this.schema;
  }

  get state(): unknown {
    return this.#state;
  }

  /** Runs the wrapper's init under a timeout; a failure or overrun is a 10901 error. */
  static async create(options: InstanceOptions): Promise<PluginInstance> {
    const instance = new PluginInstance(options);
    const init = instance.wrapper.init;
    if (init === undefined) return instance;
    const controller = new AbortController();
    const ctx = {
      service: instance.service,
      log: instance.log,
      config: instance.config,
      meter: instance.meter,
      signal: controller.signal,
    };
    try {
      instance.#state = await withTimeout(
        Promise.resolve().then(() => init(instance.config, ctx)),
        options.initTimeoutMs,
        () => {
          const err = new AigesError(
            Codes.PLUGIN_INIT,
            `plugin ${instance.service} init did not finish within ${options.initTimeoutMs} ms`,
          );
          controller.abort(err);
          return err;
        },
      );
    } catch (err) {
      if (err instanceof AigesError && err.aigesCode === Codes.PLUGIN_INIT) throw err;
      throw wrapPluginError(err, Codes.PLUGIN_INIT, `plugin ${instance.service} init failed`);
    }
    return instance;
  }

  /** Whether the set can serve now (nothing blocks it). */
  get ready(): boolean {
    return this.#blocks.size === 0;
  }

  /** Why the set cannot serve now (empty when it can). */
  get reasons(): string[] {
    return [...this.#blocks.values()];
  }

  /** Marks the set unable to serve for `reason`; `key` names the cause, so `unblock(key)` lifts it. */
  block(key: string, reason: string): void {
    if (this.#blocks.get(key) === reason) return;
    const was = this.ready;
    this.#blocks.set(key, reason);
    if (was) this.log.warn({ reason }, 'plugin set cannot serve: not ready');
    this.#readinessChanged();
  }

  unblock(key: string): void {
    if (!this.#blocks.delete(key)) return;
    if (this.ready) this.log.info('plugin set can serve again: ready');
    this.#readinessChanged();
  }

  /** Tells `listener` each time the set's readiness or its reasons change; returns the unsubscribe. */
  watchReadiness(listener: (ready: boolean, reasons: string[]) => void): () => void {
    this.#readiness.add(listener);
    return () => this.#readiness.delete(listener);
  }

  /** Execs abandoned more than the hang grace ago and still running. */
  get stuck(): number {
    return this.#stuck;
  }

  /**
   * An abandoned exec is still running past the hang grace (or, with `-1`, finally returned). When
   * every exec slot is held by such a call, the set cannot serve: it blocks with the reason.
   */
  stuckChanged(delta: 1 | -1, graceMs: number): void {
    this.#stuck += delta;
    this.#hangGraceMs = graceMs;
    this.#checkStuck();
  }

  /** Sets the exec slot count (hot config); the stuck check follows the new count. */
  resizeExecSlots(slots: number): void {
    this.execSlots.resize(slots);
    this.#checkStuck();
  }

  #checkStuck(): void {
    const slots = this.execSlots.slots;
    if (this.#stuck > 0 && this.#stuck >= slots) {
      this.block('stuck', `all ${slots} exec slots of ${this.service} are held by calls abandoned more than ${this.#hangGraceMs} ms ago`);
    } else this.unblock('stuck');
  }

  #readinessChanged(): void {
    const ready = this.ready;
    const reasons = this.reasons;
    for (const listener of this.#readiness) listener(ready, reasons);
  }

  /** One call or session starts using this set; pair with one `leave` when the plugin is done with it. */
  enter(): void {
    this.#users.enter();
  }

  leave(): void {
    this.#users.leave();
  }

  get users(): number {
    return this.#users.count;
  }

  /** Resolves true when no call or session uses this set, false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    return this.#users.idle(timeoutMs);
  }

  /**
   * A transport has serialized these outputs and nothing reads them again: the plugin kind may
   * take their memory back now (a native library's large output blocks) instead of when V8
   * collects the Buffers. The items read as empty afterwards. Does nothing for kinds without the hook.
   */
  releaseOutputs(items: readonly DataItem[]): void {
    const release = this.#releaseOutput;
    if (release !== undefined) for (const item of items) release(item.data);
  }

  /** Calls the wrapper's fini once, bounded by a timeout. Never throws; returns the error. */
  async finalise(timeoutMs: number): Promise<AigesError | undefined> {
    if (this.#finalised) return undefined;
    this.#finalised = true;
    const fini = this.wrapper.fini;
    if (fini === undefined) return undefined;
    try {
      await withTimeout(
        Promise.resolve().then(() => fini(this.#state)),
        timeoutMs,
        () => new Error(`did not finish within ${timeoutMs} ms`),
      );
      return undefined;
    } catch (err) {
      const wrapped = wrapPluginError(err, Codes.PLUGIN_FINI, `plugin ${this.service} fini failed`);
      this.log.error({ err: wrapped }, wrapped.message);
      return wrapped;
    }
  }
}
