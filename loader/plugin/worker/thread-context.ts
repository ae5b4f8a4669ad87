/**
 * What a plugin sees inside a worker thread: its logger and call context, as in the loader's
 * thread (dataplane/context.ts), but speaking to the loader through the thread's control port.
 */
import { AigesError, Codes } from '../../../plugins/errors.js';
import { ServiceAnswer } from '../../../plugins/service-answer.js';
import type {
  CallContext,
  DataItem,
  Logger,
  ServiceCallOptions,
  ServiceRequest,
  ServiceResponse,
  WrapperConfig,
} from '../../../plugins/types.js';
import { fromWireError, itemsFromWire, type LogLevel, type WireError } from './wire.js';

/** pino's numbers for the levels a plugin logs at. */
const LEVELS: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

/** What the contexts post through: the thread's control port. */
export interface ThreadLink {
  /** The loader's log level (pino's number), as the last message from it said. */
  level: number;
  log(set: number, level: LogLevel, bindings: Record<string, unknown>, obj: unknown, msg: string | undefined): void;
  meter(set: number, key: string, count: number): void;
}

/**
 * A plugin's logger in a thread: each line goes to the loader's log, under the instance set's
 * logger (so it names the service), with this logger's bindings (a call's `sid`). Lines below the
 * loader's level are dropped here, not posted.
 */
export class ThreadLog implements Logger {
  constructor(
    private readonly link: ThreadLink,
    private readonly set: number,
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  trace(obj: unknown, msg?: string): void {
    this.#log('trace', obj, msg);
  }
  debug(obj: unknown, msg?: string): void {
    this.#log('debug', obj, msg);
  }
  info(obj: unknown, msg?: string): void {
    this.#log('info', obj, msg);
  }
  warn(obj: unknown, msg?: string): void {
    this.#log('warn', obj, msg);
  }
  error(obj: unknown, msg?: string): void {
    this.#log('error', obj, msg);
  }

  child(bindings: Record<string, unknown>): Logger {
    return new ThreadLog(this.link, this.set, { ...this.bindings, ...bindings });
  }

  #log(level: LogLevel, obj: unknown, msg: string | undefined): void {
    if (LEVELS[level] < this.link.level) return;
    this.link.log(this.set, level, this.bindings, obj, msg);
  }
}

/** An instance set as a thread holds it: what its init returned there. */
export interface ThreadSet {
  readonly id: number;
  readonly service: string;
  readonly config: WrapperConfig;
  readonly log: Logger;
  readonly meter: (key: string, count?: number) => void;
  state: unknown;
}

/** How a call's ctx.infer reaches the loader (thread.ts for execs, thread-session.ts for sessions). */
export type InferRelay = (service: string, request: ServiceRequest, options: ServiceCallOptions | undefined) => Promise<ServiceResponse>;

/**
 * ctx.infer calls handed to the loader and waiting for its answer, by id. The request is copied to
 * the loader, not moved (the plugin keeps its buffers); the answer is copied back.
 */
export class PendingInfers {
  readonly #pending = new Map<number, { resolve(answer: ServiceResponse): void; reject(err: Error): void }>();
  #last = 0;

  /** Posts the call with `post(id)`; a request that cannot cross (not cloneable) rejects with 10003. */
  call(post: (id: number) => void): Promise<ServiceResponse> {
    return new Promise<ServiceResponse>((resolve, reject) => {
      const id = ++this.#last;
      this.#pending.set(id, { resolve, reject });
      try {
        post(id);
      } catch (err) {
        this.#pending.delete(id);
        reject(new AigesError(Codes.INVALID_OP, `ctx.infer: the request cannot cross to the loader: ${(err as Error).message}`));
      }
    });
  }

  /** The loader's answer to call `id`. */
  settle(id: number, items: DataItem[] | undefined, error: WireError | undefined): void {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    if (error !== undefined) pending?.reject(fromWireError(error));
    else pending?.resolve(new ServiceAnswer(itemsFromWire<DataItem>(items ?? [])));
  }

  /** Every call still waiting fails with `error` (their session is gone). */
  failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/**
 * The context of one exec or session in a thread. Its signal fires when the loader says the call
 * is over for the client (an abort message: deadline, cancel, drain, session end). Its `infer` is
 * relayed to the loader's call or session.
 */
export class ThreadCall implements CallContext<unknown> {
  readonly service: string;
  readonly config: WrapperConfig;
  readonly state: unknown;
  readonly meter: (key: string, count?: number) => void;
  readonly #setLog: Logger;
  #log: Logger | undefined;
  #controller: AbortController | undefined;
  #reason: Error | undefined;
  /** Fails the call from outside its own promise (a fault in the thread attributed to it). */
  fail: ((error: Error) => void) | undefined;

  constructor(
    set: ThreadSet,
    readonly sid: string,
    readonly deadline: number,
    private readonly relay: InferRelay,
  ) {
    this.service = set.service;
    this.config = set.config;
    this.state = set.state;
    this.meter = set.meter;
    this.#setLog = set.log;
  }

  get log(): Logger {
    return (this.#log ??= this.#setLog.child({ sid: this.sid }));
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse> {
    return this.relay(service, request, options);
  }

  abort(reason: WireError): void {
    if (this.#reason !== undefined) return;
    this.#reason = fromWireError(reason);
    this.#controller?.abort(this.#reason);
  }
}
