/**
 * The life of one call, once or session: what it takes from the loader and how it gives it back.
 * Once calls (once-call.ts), sessions (session.ts) and every protocol's requests go through it.
 *
 * A call is admitted when it is made (an admission slot, or 10110 / 10101 with nothing taken) and
 * marks its plugin instance set in use. It is its own abort scope: its deadline (on the data
 * plane's shared deadline queue), the client's cancel (`cancel`, handed to the adapter through
 * `CallOptions.onCancel`, the one way cancellation comes in) and the loader's drain (`abort`) end
 * it with a code, whatever the plugin is doing.
 *
 * Two ends, each run exactly once:
 * - `answer`: the client has its result or error. The admission slot goes back, the deadline
 *   leaves the queue, and the call is counted (metrics) and, if it failed for a reason of the
 *   plugin's or the loader's, logged with its sid.
 * - `release`: the plugin holds nothing of the call any more (its exec returned, its session was
 *   destroyed). Until then the call counts against the instance set, so a retired set is
 *   finalised only after its plugin work is done (or the drain grace is over), and a once call's
 *   exec slot is held (once-call.ts).
 * An abandoned call is answered before it is released: a plugin that ignores `ctx.signal` keeps
 * its resources until it returns, never a client.
 */
import { AigesError, Codes, codeName, isFault } from '../errors.js';
import type { Logger } from '../log.js';
import type { LoaderMetrics, ServiceStats } from '../metrics.js';
import type { PluginInstance } from '../plugin/instance.js';
import type { ServiceCallOptions, ServiceRequest, ServiceResponse } from '../../plugins/types.js';
import type { Admission } from './admission.js';
import { type ContextScope, EndListeners, NO_UNSUBSCRIBE } from './context.js';
import type { DeadlineQueue, Timed } from './deadline-queue.js';
import { MAX_PIPELINE_DEPTH, type Pipes } from './pipe.js';

export type CallMode = 'once' | 'session';

/** What an adapter cancels when its client goes away. */
export interface Cancellable {
  /** Ends the call with CANCELLED (10202) unless it already ended; later calls do nothing. */
  cancel(): void;
}

/**
 * Who makes a call, when the loader authenticates its clients (`[auth]`, loader/auth/): the
 * adapter checks the request's signature and hands the data plane the caller, which asks it
 * whether the call's service is allowed once the service is known.
 */
export interface Caller {
  /** The access key that signed the request. */
  readonly accessKey: string;
  /** Throws PERMISSION_DENIED (10207) when the key may not call `service`. */
  authorize(service: string): void;
  /** Whether the key may call `service`, counting nothing (for listings). */
  mayCall(service: string): boolean;
}

/** What an adapter passes with every call or session. */
export interface CallOptions {
  /** The authenticated caller; absent when the loader runs without `[auth]`. */
  caller?: Caller | undefined;
  /** Absolute deadline (epoch ms) the client set; the configured default applies otherwise. */
  deadline?: number | undefined;
  /**
   * Called once with the call when it is admitted; the adapter calls its `cancel()` when the client
   * goes away. A subscription rather than an AbortSignal: no signal object per call.
   */
  onCancel?: ((call: Cancellable) => void) | undefined;
}

/** The data plane's bookkeeping that its calls take from and give back to. */
export interface CallTracker {
  readonly admission: Admission;
  readonly deadlines: DeadlineQueue;
  readonly metrics: LoaderMetrics;
  readonly log: Logger;
  /** Calls admitted and not yet answered: what a drain ends when its grace is over. */
  readonly live: Set<Call>;
  /** `limits.hang_grace_ms`: how long an abandoned exec may run on before it counts as stuck. */
  hangGraceMs: number;
  /** `server.expose_plugin_errors`: whether a plugin's error text reaches the client. */
  readonly exposePluginErrors: boolean;
  /** Where a plugin's `ctx.infer` goes (pipe.ts). */
  readonly pipes: Pipes;
}

/** Codes whose message may be the plugin's own text (an exception's message, a C wrapper's error). */
function isPluginFault(code: number): boolean {
  return code === Codes.CRASH || (code >= Codes.PLUGIN_INIT && code <= Codes.PLUGIN_CALLBACK);
}

/** What the client gets of a plugin fault when its text is not to be shown: the code, and the sid it is logged under. */
function withheld(error: AigesError, sid: string): AigesError {
  const answer = new AigesError(
    error.aigesCode,
    `${codeName(error.aigesCode)}: the plugin failed; the loader's log has its error under sid ${sid}`,
  );
  answer.sid = sid;
  return answer;
}

/** A cancel this close to the deadline is the client's deadline passing. */
const DEADLINE_SLACK_MS = 20;

export abstract class Call implements Cancellable, Timed, ContextScope {
  /** The deadline queue's bookkeeping. */
  heapIndex = -1;
  readonly deadline: number;
  readonly sid: string;
  readonly instance: PluginInstance;
  protected readonly tracker: CallTracker;
  protected readonly stats: ServiceStats;
  readonly #mode: CallMode;
  /** The deadline's length as the client (or the default) set it, for the error message. */
  readonly #timeoutMs: number;
  /** When the call was made (performance.now()). */
  protected readonly startedAt = performance.now();
  #reason: AigesError | undefined;
  /** Set when the call ended well: what `signal` reports to a plugin still holding it. */
  #closedReason: AigesError | undefined;
  #controller: AbortController | undefined;
  /** onEnd's listeners (made by the first). */
  #ends: EndListeners | undefined;
  #answered = false;
  #released = false;
  /**
   * The call whose plugin made this one with `ctx.infer` (pipe.ts); undefined for a client's call.
   * A nested call rides on its root's admission slot, and ends when its parent does.
   */
  readonly parent: Call | undefined;
  /** How many `ctx.infer` calls deep this one is (0: a client's call). */
  readonly depth: number;
  /** The nested calls this call's plugin made that are not answered yet (made on first use). */
  #children: Set<Call> | undefined;

  /**
   * Admits the call or throws (10101 draining, 10110 full) with nothing taken. A nested call
   * (`parent` set) takes no admission slot: it is refused when its parent has ended. A call past
   * the depth limit is refused (10211); a client's call starts at `inheritedDepth` (a call another
   * loader's plugin made, pipe.ts).
   */
  constructor(
    tracker: CallTracker,
    instance: PluginInstance,
    sid: string,
    mode: CallMode,
    deadline: number,
    timeoutMs: number,
    parent?: Call,
    inheritedDepth = 0,
  ) {
    const depth = parent === undefined ? inheritedDepth : parent.depth + 1;
    if (depth > MAX_PIPELINE_DEPTH) {
      throw new AigesError(
        Codes.PIPELINE_DEPTH,
        `ctx.infer nests deeper than ${MAX_PIPELINE_DEPTH} calls (a service calling itself in a loop?): ${parent?.service ?? 'another loader'} → ${instance.service}`,
        { detail: { service: instance.service, caller: parent?.service } },
      );
    }
    if (parent === undefined) tracker.admission.take(mode);
    else {
      if (parent.#answered) {
        const why = parent.#reason ?? parent.#closedReason;
        throw new AigesError(
          why?.aigesCode ?? Codes.INVALID_OP,
          `the calling call (${parent.sid}) is over${why ? `: ${why.message}` : ''}`,
        );
      }
      (parent.#children ??= new Set()).add(this);
    }
    this.parent = parent;
    this.depth = depth;
    this.tracker = tracker;
    this.instance = instance;
    this.sid = sid;
    this.#mode = mode;
    this.deadline = deadline;
    this.#timeoutMs = Math.max(0, Math.round(timeoutMs));
    const stats = tracker.metrics.of(instance.service);
    this.stats = stats;
    if (mode === 'once') stats.once++;
    else stats.sessions++;
    instance.enter();
    tracker.live.add(this);
  }

  get service(): string {
    return this.instance.service;
  }

  /**
   * Aborted with the call's reason at the deadline, on the client's cancel, at a drain, or when the
   * call is over; made on first use, and from then on the deadline is timed.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      const reason = this.#reason ?? this.#closedReason;
      if (reason !== undefined) this.#controller.abort(reason);
      else this.armDeadline();
    }
    return this.#controller.signal;
  }

  /** `signal`'s firing without the signal (context.ts); like `signal`, it times the deadline. */
  onEnd(listener: (reason: unknown) => void): () => void {
    if (this.#reason !== undefined || this.#closedReason !== undefined) return NO_UNSUBSCRIBE;
    this.armDeadline();
    return (this.#ends ??= new EndListeners()).add(listener);
  }

  /** Why the call was aborted (undefined while it was not). */
  get reason(): AigesError | undefined {
    return this.#reason;
  }

  get answered(): boolean {
    return this.#answered;
  }

  /**
   * The client went away: 10202; at the deadline, 10102. A client cancels when its own deadline
   * passes, which is ours give or take the network (its cancel may come in just before our timer
   * fires): that is the deadline, and is counted as one.
   */
  cancel(): void {
    // NOTE: an answered call is the common case (grpc-js reports a stream's end as a cancel too):
    // nothing to end, and no error object to build.
    if (this.#answered || this.#reason !== undefined) return;
    if (Date.now() >= this.deadline - DEADLINE_SLACK_MS) return this.expire();
    this.abort(new AigesError(Codes.CANCELLED, 'the client cancelled the call'));
  }

  /** The deadline queue's call: the deadline passed. */
  expire(): void {
    const what = this.#mode === 'once' ? 'deadline' : 'session deadline';
    this.abort(new AigesError(Codes.EXEC_TIMEOUT, `${what} of ${this.#timeoutMs} ms exceeded`));
  }

  /** Ends the call with `reason` unless it has ended; a plugin still working is abandoned. */
  abort(reason: AigesError): void {
    if (this.#answered || this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#ends?.fire(reason);
    this.#endChildren(reason);
    this.aborted(reason);
  }

  /**
   * Calls another service for this call's plugin (`ctx.infer`): nested under this call, under its
   * deadline, ended with it.
   */
  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse> {
    return this.tracker.pipes.infer(this, service, request, options);
  }

  /** Whether this call holds an exec slot of `instance` now (a running once call does). */
  holdsExecSlot(_instance: PluginInstance): boolean {
    return false;
  }

  /** This call is over: so are the nested calls its plugin still waits on, with the same code. */
  #endChildren(reason: AigesError): void {
    const children = this.#children;
    if (children === undefined || children.size === 0) return;
    for (const child of [...children]) {
      child.abort(new AigesError(reason.aigesCode, `the calling call ${this.service} ended: ${reason.message}`));
    }
  }

  /** What the call does when it is aborted (the reason is set, the signal fired). */
  protected abstract aborted(reason: AigesError): void;

  /** Starts timing the deadline (once; not after the answer). */
  protected armDeadline(): void {
    if (!this.#answered) this.tracker.deadlines.add(this);
  }

  /** The call ended well while a plugin may still hold its context: its signal reports `reason`. */
  protected closeSignal(reason: AigesError): void {
    if (this.#reason !== undefined || this.#closedReason !== undefined) return;
    this.#closedReason = reason;
    this.#controller?.abort(reason);
    this.#ends?.fire(reason);
    this.#endChildren(reason);
  }

  /**
   * The client has its answer (`error` undefined: success). Gives back the admission slot, takes
   * the deadline off the queue, counts and logs the call; once. Returns `error`, with the call's
   * sid on it, for throwing.
   */
  protected answer<E extends AigesError | undefined>(error: E): E {
    if (error !== undefined) error.sid ??= this.sid;
    if (this.#answered) return error;
    this.#answered = true;
    const { admission, deadlines, live, log } = this.tracker;
    deadlines.remove(this);
    live.delete(this);
    const stats = this.stats;
    if (this.#mode === 'once') stats.once--;
    else stats.sessions--;
    if (this.parent === undefined) admission.give(this.#mode);
    else this.parent.#children?.delete(this);
    stats.ended(this.#mode, error === undefined ? 0 : error.aigesCode, (performance.now() - this.startedAt) / 1000);
    // A nested call the plugin left running (never awaited) ends with the call that made it.
    if (this.#children !== undefined) this.#endChildren(error ?? new AigesError(Codes.CANCELLED, 'the call answered'));
    if (error !== undefined) {
      if (isFault(error.aigesCode)) {
        log.error({ err: error, service: this.service, sid: this.sid, mode: this.#mode }, error.message);
        return this.shown(error) as E;
      } else if (this.#mode === 'session' && error.aigesCode !== Codes.CANCELLED) {
        log.warn({ sid: this.sid, service: this.service, code: error.aigesCode }, `session ended: ${error.message}`);
      }
    }
    return error;
  }

  /** `error` as the client may see it: a plugin's own text is withheld unless `server.expose_plugin_errors`. */
  protected shown(error: AigesError): AigesError {
    if (this.tracker.exposePluginErrors || !isPluginFault(error.aigesCode)) return error;
    return withheld(error, this.sid);
  }

  /** The plugin holds nothing of the call any more: the instance set is free of it; once. */
  protected release(): void {
    if (this.#released) return;
    this.#released = true;
    this.instance.leave();
  }
}
