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
  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse>;
}

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
}
