/**
 * An initialised plugin instance set: the wrapper, what its init returned, its compiled schema,
 * and the count of calls and sessions using it (so a retired set is finalised only when idle).
 */
import { AigesError, Codes, wrapPluginError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Wrapper, WrapperConfig } from '../../plugins/types.js';
import { Semaphore } from '../dataplane/semaphore.js';
import { CompiledSchema } from './schema.js';

export interface InstanceOptions {
  wrapper: Wrapper;
  config: WrapperConfig;
  log: Logger;
  /** Once calls allowed inside the plugin at a time. */
  concurrency: number;
  initTimeoutMs: number;
  meter: (service: string, key: string, count: number) => void;
}

export class PluginInstance {
  readonly wrapper: Wrapper;
  readonly schema: CompiledSchema;
  readonly config: WrapperConfig;
  readonly log: Logger;
  readonly execSlots: Semaphore;
  readonly meter: (key: string, count?: number) => void;
  #state: unknown = undefined;
  #users = 0;
  #idleWaiters: (() => void)[] = [];
  #finalised = false;

  private constructor(options: InstanceOptions) {
    this.wrapper = options.wrapper;
    this.config = options.config;
    this.log = options.log.child({ service: options.wrapper.id });
    try {
      this.schema = new CompiledSchema(options.wrapper.schema);
    } catch (err) {
      throw new AigesError(Codes.PLUGIN_INIT, `plugin ${options.wrapper.id} has an invalid schema: ${(err as Error).message}`);
    }
    this.execSlots = new Semaphore(options.concurrency);
    this.meter = (key, count = 1) => options.meter(options.wrapper.id, key, count);
  }

  get service(): string {
    return this.wrapper.id;
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
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new AigesError(Codes.PLUGIN_INIT, `plugin ${instance.service} init did not finish within ${options.initTimeoutMs} ms`);
        controller.abort(err);
        reject(err);
      }, options.initTimeoutMs);
    });
    try {
      const ctx = {
        service: instance.service,
        log: instance.log,
        config: instance.config,
        meter: instance.meter,
        signal: controller.signal,
      };
      instance.#state = await Promise.race([Promise.resolve().then(() => init(instance.config, ctx)), timeout]);
    } catch (err) {
      if (err instanceof AigesError && err.aigesCode === Codes.PLUGIN_INIT) throw err;
      throw wrapPluginError(err, Codes.PLUGIN_INIT, `plugin ${instance.service} init failed`);
    } finally {
      clearTimeout(timer);
    }
    return instance;
  }

  /** Marks one call or session as using this set; the returned function ends that use (once). */
  use(): () => void {
    this.enter();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.leave();
    };
  }

  /** `use` without a releaser object, for the once-call hot path: pair each with one `leave`. */
  enter(): void {
    this.#users++;
  }

  leave(): void {
    this.#users--;
    if (this.#users === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  get users(): number {
    return this.#users;
  }

  /** Resolves when no call or session uses this set, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.#users === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Calls the wrapper's fini once, bounded by a timeout. Never throws; returns the error. */
  async finalise(timeoutMs: number): Promise<AigesError | undefined> {
    if (this.#finalised) return undefined;
    this.#finalised = true;
    const fini = this.wrapper.fini;
    if (fini === undefined) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => fini(this.#state)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return undefined;
    } catch (err) {
      const wrapped = wrapPluginError(err, Codes.PLUGIN_FINI, `plugin ${this.service} fini failed`);
      this.log.error({ err: wrapped }, wrapped.message);
      return wrapped;
    } finally {
      clearTimeout(timer);
    }
  }
}
