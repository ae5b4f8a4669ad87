/**
 * The context a plugin gets with each call (`exec`) or session (`session.create`).
 *
 * NOTE: one object per call, so it is a class: the values are plain fields, and `log` and `signal`
 * are made on first use (most calls never read them). `log` is the instance's logger with the
 * call's sid bound (a pino child logger, like fastify's `request.log`), so every line a plugin
 * logs through it names the request.
 */
import type { Logger } from '../log.js';
import type { PluginInstance } from '../plugin/instance.js';
import type { CallContext, ServiceCallOptions, ServiceRequest, ServiceResponse, WrapperConfig } from '../../plugins/types.js';

/** What a context reads its abort signal and deadline from, and calls other services through: the call. */
export interface ContextScope {
  readonly signal: AbortSignal;
  readonly deadline: number;
  /**
   * `listener` gets the reason when `signal` fires, without the signal being made (one per call
   * costs an AbortController and its event listeners); never for a scope that has ended already,
   * as with a listener added to an aborted signal. Returns the unsubscribe.
   */
  onEnd(listener: (reason: unknown) => void): () => void;
  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse>;
}

/** The listeners of a scope's end (ContextScope.onEnd): fired once, in the order they came. */
export class EndListeners {
  readonly #list: ((reason: unknown) => void)[] = [];

  add(listener: (reason: unknown) => void): () => void {
    this.#list.push(listener);
    return () => {
      const i = this.#list.indexOf(listener);
      if (i >= 0) this.#list.splice(i, 1);
    };
  }

  fire(reason: unknown): void {
    for (const listener of this.#list.splice(0)) listener(reason);
  }
}

/** For a scope that has ended: onEnd's listener is never called. */
export const NO_UNSUBSCRIBE = (): void => undefined;

/** The loader's own way to a context's scope (not the plugin's: its contract is `ctx.signal`). */
const SCOPE = Symbol('aiges.scope');

export class PluginCallContext implements CallContext<unknown> {
  readonly service: string;
  readonly config: WrapperConfig;
  readonly meter: (key: string, count?: number) => void;
  readonly state: unknown;
  readonly sid: string;
  readonly deadline: number;
  readonly #scope: ContextScope;
  readonly #instanceLog: Logger;
  #log: Logger | undefined;

  constructor(instance: PluginInstance, sid: string, scope: ContextScope) {
    this.service = instance.service;
    this.config = instance.config;
    this.meter = instance.meter;
    this.state = instance.state;
    this.sid = sid;
    this.deadline = scope.deadline;
    this.#scope = scope;
    this.#instanceLog = instance.log;
  }

  /** The instance's logger with `sid` bound. */
  get log(): Logger {
    return (this.#log ??= this.#instanceLog.child({ sid: this.sid }));
  }

  /** Aborted at the deadline, on client cancel, at a drain, or when the call is over. */
  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  /** Calls another service, nested under this call (dataplane/pipe.ts). */
  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse> {
    return this.#scope.infer(service, request, options);
  }

  get [SCOPE](): ContextScope {
    return this.#scope;
  }
}

/**
 * Subscribes `listener` to the end of the call behind `ctx` (deadline, cancel, drain, or over), as
 * `ctx.signal` would report it: how the isolations pass an abort on to a thread or a process without
 * an AbortSignal per call. A context the data plane did not make (a test's) is heard through its signal.
 */
export function onContextEnd(ctx: CallContext<unknown>, listener: (reason: unknown) => void): () => void {
  if (ctx instanceof PluginCallContext) return ctx[SCOPE].onEnd(listener);
  const signal = ctx.signal;
  const onAbort = () => listener(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
