/**
 * A live session: the loader's side of a plugin's WrapperSession (call.ts has the lifecycle).
 *
 * Input: `write(items)` per client message and `end()` when the client has sent everything. The
 * plugin's `write` and `end` are called one at a time, in order: a call made while the previous
 * one is still running waits its turn. A write the plugin takes synchronously costs no promise.
 * Output: `start(sink)` delivers the plugin's results to the sink as they come, each checked
 * against the schema, the last with status END; a sink that returns false pauses the reading
 * until `resume()`, so a slow client holds the plugin back (through its own bounded queue)
 * instead of the loader buffering without bound.
 *
 * Whatever ends it — the plugin's last result, a plugin failure, the idle timeout, the deadline,
 * the client's cancel, a drain — the end runs once: pending input is settled, the sink is told,
 * the plugin's `destroy` runs (bounded by a timeout), and then the call is answered and released.
 */
import { AigesError, Codes, toAigesError, wrapPluginError } from '../errors.js';
import { withTimeout } from '../lib/timeout.js';
import type { PluginInstance } from '../plugin/instance.js';
import type { ResultSource } from '../../plugins/result-queue.js';
import { DataStatus, type DataItem, type Params, type WrapperSession } from '../../plugins/types.js';
import { Call, type CallTracker } from './call.js';
import { PluginCallContext } from './context.js';
import { isThenable } from './once-call.js';
import { resultSourceOf, type SessionSink } from './results.js';

export interface SessionLimits {
  /** A session with no input and no output for this long fails with 10019. */
  idleTimeoutMs: number;
  /** The largest message (sum of its items' bytes) a write may carry: 10201 past it. */
  maxMessageBytes: number;
}

/** How long a plugin's `destroy` may take before the session's slot is freed anyway. */
export const DESTROY_TIMEOUT_MS = 5_000;

/** A write or end waiting for its turn, or the one the plugin has now (an async one). */
interface Pending {
  /** undefined: an end. */
  items: readonly DataItem[] | undefined;
  resolve: () => void;
  reject: (error: AigesError) => void;
}

type State = 'creating' | 'open' | 'closed';

export class Session extends Call {
  readonly #limits: SessionLimits;
  #plugin: WrapperSession | undefined;
  #source: ResultSource | undefined;
  #sink: SessionSink | undefined;
  #state: State = 'creating';
  #failure: AigesError | undefined;
  #inputEnded = false;
  #paused = false;
  #pumping = false;
  #idleTimer: NodeJS.Timeout | undefined;
  /** The async write or end the plugin has now; later ones wait in #queue. */
  #current: Pending | undefined;
  readonly #queue: Pending[] = [];
  #created: { resolve: (session: Session) => void; reject: (error: AigesError) => void } | undefined;
  readonly #pump = () => this.#drain();

  constructor(tracker: CallTracker, instance: PluginInstance, sid: string, deadline: number, timeoutMs: number, limits: SessionLimits) {
    super(tracker, instance, sid, 'session', deadline, timeoutMs);
    this.#limits = limits;
  }

  /** True once the session is over (ended or failed). */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Runs the plugin's `session.create`; resolves with this session once the plugin's session exists. */
  open(params: Params): Promise<Session> {
    this.armDeadline();
    const reason = this.reason;
    if (reason !== undefined) return Promise.reject(this.#failCreate(reason));
    let made: unknown;
    try {
      made = this.instance.wrapper.session!.create(params, new PluginCallContext(this.instance, this.sid, this));
    } catch (err) {
      return Promise.reject(this.#failCreate(wrapPluginError(err, Codes.PLUGIN_CREATE, 'session create failed')));
    }
    if (!isThenable(made)) {
      return this.#opened(made) ? Promise.resolve(this) : Promise.reject(this.#failure);
    }
    return new Promise<Session>((resolve, reject) => {
      this.#created = { resolve, reject };
      made.then(
        (plugin: unknown) => {
          if (this.#state !== 'creating') {
            // NOTE: made after the deadline or a cancel: nobody will drive it, but destroy is
            // promised once whatever happens.
            destroyLate(plugin);
            return;
          }
          this.#created = undefined;
          if (this.#opened(plugin)) resolve(this);
          else reject(this.#failure!);
        },
        (err: unknown) => {
          if (this.#state !== 'creating') return;
          this.#created = undefined;
          reject(this.#failCreate(this.#pluginError(err, Codes.PLUGIN_CREATE, 'session create failed')));
        },
      );
    });
  }

  #opened(plugin: unknown): boolean {
    const p = plugin as WrapperSession | undefined;
    if (typeof p?.write !== 'function' || typeof p?.results?.[Symbol.asyncIterator] !== 'function') {
      this.#failCreate(new AigesError(Codes.PLUGIN_CREATE, 'session.create must return { write, results }'));
      return false;
    }
    let source: ResultSource;
    try {
      source = resultSourceOf(p.results);
    } catch (err) {
      this.#failCreate(wrapPluginError(err, Codes.PLUGIN_CREATE, 'session results cannot be read'));
      destroyLate(p);
      return false;
    }
    this.#plugin = p;
    this.#source = source;
    this.#state = 'open';
    this.#touch();
    return true;
  }

  /** Fails a session whose plugin session was never made: nothing to destroy. */
  #failCreate(error: AigesError): AigesError {
    this.#state = 'closed';
    this.#failure = this.shown(error);
    this.release();
    this.answer(error);
    return this.#failure;
  }

  /** Delivers the results to `sink` from now on (once). A session that already failed tells it at once. */
  start(sink: SessionSink): void {
    if (this.#sink !== undefined) throw new AigesError(Codes.INTERNAL, 'session results delivered twice');
    this.#sink = sink;
    if (this.#state === 'closed') sink.close(this.#failure);
    else this.#drain();
  }

  /** The sink has room again after returning false. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#drain();
  }

  /**
   * Feeds one client message. Returns undefined when the plugin took it at once, else a promise
   * that settles when it has; rejects (or returns a rejected promise) with the error that ended
   * the session, or 10003 after the input or the session ended.
   */
  write(items: readonly DataItem[]): Promise<void> | undefined {
    if (this.#current !== undefined || this.#queue.length > 0) return this.#enqueue(items);
    return this.#run(items);
  }

  /** The client has sent all input: the plugin's `end`, after every earlier write. */
  end(): Promise<void> {
    if (this.#current !== undefined || this.#queue.length > 0) return this.#enqueue(undefined);
    return this.#run(undefined) ?? Promise.resolve();
  }

  protected aborted(reason: AigesError): void {
    if (this.#state === 'creating') {
      const created = this.#created;
      this.#created = undefined;
      created?.reject(this.#failCreate(reason));
      return;
    }
    this.#end(reason);
  }

  #enqueue(items: readonly DataItem[] | undefined): Promise<void> {
    return new Promise((resolve, reject) => this.#queue.push({ items, resolve, reject }));
  }

  /** Runs one write (items) or end (undefined) now. */
  #run(items: readonly DataItem[] | undefined): Promise<void> | undefined {
    if (items !== undefined && this.#inputEnded && this.#failure === undefined) {
      return Promise.reject(new AigesError(Codes.INVALID_OP, 'session input already ended'));
    }
    if (this.#state !== 'open') {
      // The plugin may end the session (an END result) before the client half-closes: fine.
      if (items === undefined && this.#failure === undefined) return undefined;
      return Promise.reject(this.#failure ?? new AigesError(Codes.INVALID_OP, 'session is closed'));
    }
    if (items === undefined) {
      if (this.#inputEnded) return undefined;
      this.#inputEnded = true;
      this.#touch();
      if (this.#plugin!.end === undefined) return undefined;
    } else {
      this.#touch();
      this.stats.framesIn++;
      const refused = this.#check(items);
      if (refused !== undefined) return Promise.reject(this.#fail(refused));
    }
    const plugin = this.#plugin!;
    let pending: unknown;
    try {
      pending = items === undefined ? plugin.end!() : plugin.write(items);
    } catch (err) {
      return this.#opFailed(err, items);
    }
    if (!isThenable(pending)) return undefined;
    return new Promise<void>((resolve, reject) => {
      const op: Pending = { items, resolve, reject };
      this.#current = op;
      pending.then(
        () => this.#settled(op, undefined, false),
        (err: unknown) => this.#settled(op, err, true),
      );
    });
  }

  /** The input checks before the plugin sees a message; the error fails the session. */
  #check(items: readonly DataItem[]): AigesError | undefined {
    let bytes = 0;
    for (const item of items) bytes += item.data.length;
    if (bytes > this.#limits.maxMessageBytes) {
      return new AigesError(Codes.PAYLOAD_TOO_LARGE, `session message of ${bytes} bytes exceeds ${this.#limits.maxMessageBytes}`);
    }
    try {
      this.instance.schema.inputItems(items, false);
    } catch (err) {
      return toAigesError(err);
    }
    return undefined;
  }

  /** An async write or end settled. */
  #settled(op: Pending, err: unknown, failed: boolean): void {
    if (this.#current !== op) return; // settled already: the session ended while the plugin had it
    this.#current = undefined;
    if (!failed) op.resolve();
    else {
      const outcome = this.#opFailed(err, op.items);
      if (outcome === undefined) op.resolve();
      else {
        outcome.catch(() => undefined);
        op.reject(this.#failure!);
      }
    }
    this.#next();
  }

  /** A write or end the plugin failed; undefined when the session had ended well meanwhile. */
  #opFailed(err: unknown, items: readonly DataItem[] | undefined): Promise<never> | undefined {
    // NOTE: the plugin may end the session (an END result) while the write is still in its
    // hands: the session is over and fine, so the write is too.
    if (this.#state === 'closed' && this.#failure === undefined) return undefined;
    const what = items === undefined ? 'session end failed' : 'session write failed';
    return Promise.reject(this.#fail(this.#pluginError(err, Codes.PLUGIN_WRITE, what)));
  }

  /** Runs the queued writes and ends whose turn has come. */
  #next(): void {
    while (this.#current === undefined && this.#queue.length > 0) {
      const op = this.#queue.shift()!;
      const outcome = this.#run(op.items);
      if (outcome === undefined) op.resolve();
      else outcome.then(op.resolve, op.reject);
    }
  }

  /** Reads the plugin's results into the sink until it pauses, none is ready, or the session ends. */
  #drain(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      const source = this.#source!;
      while (this.#state === 'open' && !this.#paused && this.#sink !== undefined) {
        let next: IteratorResult<readonly unknown[], undefined> | undefined;
        try {
          next = source.poll();
        } catch (err) {
          this.#fail(this.#pluginError(err, Codes.PLUGIN_READ, 'session results failed'));
          return;
        }
        if (next === undefined) {
          source.onReadable(this.#pump);
          return;
        }
        if (next.done === true) {
          this.#deliver([], true);
          return;
        }
        let items: DataItem[];
        try {
          items = this.instance.schema.outputItems(next.value, DataStatus.CONTINUE);
        } catch (err) {
          this.#fail(toAigesError(err));
          return;
        }
        this.#touch();
        let last = false;
        for (const item of items) if (item.status === DataStatus.END || item.status === DataStatus.ONCE) last = true;
        this.#deliver(items, last);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #deliver(items: DataItem[], last: boolean): void {
    this.stats.framesOut++;
    const more = this.#sink!.result({ items, status: last ? DataStatus.END : DataStatus.CONTINUE });
    if (last) this.#end(undefined);
    else if (!more) this.#paused = true;
  }

  /** Records the first failure and ends the session with it; returns the failure that stands. */
  #fail(error: AigesError): AigesError {
    if (this.#state === 'closed') return this.#failure ?? error;
    this.abort(error); // fires ctx.signal, then aborted() → #end(error)
    return this.#failure ?? error;
  }

  /** Ends an open session, once: settles input, tells the sink, destroys, then answers and releases. */
  #end(error: AigesError | undefined): void {
    if (this.#state !== 'open') return;
    this.#state = 'closed';
    // The client is told the failure as it may be shown; answer() logs it whole.
    const told = error === undefined ? undefined : this.shown(error);
    this.#failure = told;
    clearTimeout(this.#idleTimer);
    const current = this.#current;
    this.#current = undefined;
    const queued = this.#queue.splice(0);
    if (told === undefined) {
      this.closeSignal(new AigesError(Codes.CANCELLED, 'session closed'));
      current?.resolve();
      for (const op of queued) {
        if (op.items === undefined) op.resolve();
        else op.reject(new AigesError(Codes.INVALID_OP, 'session is closed'));
      }
    } else {
      current?.reject(told);
      for (const op of queued) op.reject(told);
    }
    this.#source!.cancel();
    const finish = () => {
      this.release();
      this.answer(error);
    };
    let destroying: unknown;
    try {
      destroying = this.#plugin!.destroy?.();
    } catch (err) {
      this.#destroyFailed(err);
    }
    // NOTE: a synchronous destroy frees the slot before the sink hears the end, so a client that
    // saw END can open its next session straight away.
    if (!isThenable(destroying)) {
      finish();
      this.#sink?.close(told);
      return;
    }
    this.#sink?.close(told);
    withTimeout(Promise.resolve(destroying), DESTROY_TIMEOUT_MS, () => new Error(`did not finish within ${DESTROY_TIMEOUT_MS} ms`))
      .catch((err: unknown) => this.#destroyFailed(err))
      .finally(finish);
  }

  #destroyFailed(err: unknown): void {
    const wrapped = wrapPluginError(err, Codes.PLUGIN_DESTROY, 'session destroy failed');
    this.instance.log.error({ err: wrapped, sid: this.sid }, wrapped.message);
  }

  #pluginError(err: unknown, code: (typeof Codes)[keyof typeof Codes], what: string): AigesError {
    // The session's own ends (deadline, cancel, idle) pass through unchanged.
    if (this.#failure !== undefined) return this.#failure;
    const reason = this.reason;
    if (reason !== undefined && err === reason) return reason;
    return wrapPluginError(err, code, what);
  }

  #touch(): void {
    if (this.#state !== 'open') return;
    // NOTE: one timer per session, re-armed on every message (refresh() allocates nothing).
    if (this.#idleTimer !== undefined) {
      this.#idleTimer.refresh();
      return;
    }
    const ms = this.#limits.idleTimeoutMs;
    this.#idleTimer = setTimeout(() => this.abort(new AigesError(Codes.SESSION_TIMEOUT, `session idle for more than ${ms} ms`)), ms);
  }
}

/** Destroys a plugin session nobody will drive (made too late, or unreadable); never throws. */
function destroyLate(plugin: unknown): void {
  const p = plugin as WrapperSession | undefined;
  Promise.resolve()
    .then(() => p?.destroy?.call(p))
    .catch(() => undefined);
}
