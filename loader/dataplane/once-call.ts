/**
 * One admitted once call, from its exec slot to its answer.
 *
 * A call is its own abort scope: the deadline and the client's cancel end it (10102, 10202) even
 * while the plugin still runs; the plugin is then abandoned and whatever it returns later is
 * dropped. However the call ends, it gives back what it holds exactly once, before its promise
 * settles: its exec slot, then `onEnd` (the data plane frees the admission slot and records it).
 *
 * NOTE: the loader's hottest path, so it allocates little: one object per call, a context object,
 * its deadline queued (deadline-queue.ts: one timer for all calls) only from the moment the call waits on something (a sync exec cannot be
 * interrupted, so it needs none), one promise for an async exec and none of its own for a sync
 * one. It replaced a generic CallScope, a race promise, an AsyncLocalStorage scope and four async
 * frames per call: 68-72 → 50-54 µs of loader CPU per 1 KiB HTTP echo call under load
 * (BENCHMARKS.md, "What changed").
 */
import { AigesError, Codes, toAigesError, wrapPluginError } from '../errors.js';
import type { PluginInstance } from '../plugin/instance.js';
import { DataStatus, type DataItem, type InferRequest } from '../../plugins/types.js';
import { PluginCallContext } from './context.js';
import type { DeadlineQueue, Timed } from './deadline-queue.js';
import { isThenable, type Cancellable } from './deadline.js';

/** Told once, when the call ends: undefined on success, else why it failed. */
export type OnceEnd = (error: AigesError | undefined) => void;

export class OnceCall implements Cancellable, Timed {
  readonly deadline: number;
  heapIndex = -1;
  readonly #deadlines: DeadlineQueue;
  readonly #instance: PluginInstance;
  readonly #request: InferRequest;
  readonly #sid: string;
  /** The deadline's length, for its error message. */
  readonly #timeoutMs: number;
  readonly #onEnd: OnceEnd;
  #controller: AbortController | undefined;
  #reason: AigesError | undefined;
  #ended = false;
  #holdsExecSlot = false;
  /** Set while an async exec is pending: settles the call's promise. */
  #resolve: ((items: DataItem[]) => void) | undefined;
  #reject: ((error: AigesError) => void) | undefined;
  #clientSignal: AbortSignal | undefined;

  constructor(
    instance: PluginInstance,
    request: InferRequest,
    sid: string,
    deadline: number,
    /** The deadline's length as the client (or the default) set it, for the error message. */
    timeoutMs: number,
    deadlines: DeadlineQueue,
    onEnd: OnceEnd,
  ) {
    this.#instance = instance;
    this.#deadlines = deadlines;
    this.#request = request;
    this.#sid = sid;
    this.deadline = deadline;
    this.#timeoutMs = Math.max(0, Math.round(timeoutMs));
    this.#onEnd = onEnd;
  }

  /** Runs the call; the promise settles once, with the checked output or an AigesError. */
  run(): Promise<DataItem[]> {
    if (this.#reason !== undefined) return Promise.reject(this.#end(this.#reason));
    if (this.#instance.execSlots.tryTake()) {
      this.#holdsExecSlot = true;
      return this.#exec();
    }
    this.#arm();
    return this.#waitForSlot();
  }

  /** Aborted with the call's reason; made on first use (and from then on the deadline is timed). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
      else this.#arm();
    }
    return this.#controller.signal;
  }

  /** The client went away. */
  cancel(): void {
    this.abort(new AigesError(Codes.CANCELLED, 'the client cancelled the call'));
  }

  /** Cancels the call when `signal` aborts (the AbortSignal form of the client's cancel). */
  cancelOn(signal: AbortSignal): void {
    if (signal.aborted) return this.cancel();
    this.#clientSignal = signal;
    signal.addEventListener('abort', this, { once: true });
  }

  /** EventListener interface, for `cancelOn` (no closure per call). */
  handleEvent(): void {
    this.cancel();
  }

  /** Ends the call with `reason` unless it has ended; a plugin still running is abandoned. */
  abort(reason: AigesError): void {
    if (this.#ended || this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    // Waiting for an exec slot: the wait rejects through the signal and ends the call there.
    const reject = this.#reject;
    if (reject !== undefined) reject(this.#end(reason));
  }

  async #waitForSlot(): Promise<DataItem[]> {
    try {
      await this.#instance.execSlots.take(this.signal);
    } catch (err) {
      throw this.#end(this.#reason ?? toAigesError(err));
    }
    this.#holdsExecSlot = true;
    if (this.#reason !== undefined) throw this.#end(this.#reason);
    return this.#exec();
  }

  #exec(): Promise<DataItem[]> {
    let output: unknown;
    try {
      output = this.#instance.wrapper.exec!(this.#request, new PluginCallContext(this.#instance, this.#sid, this));
    } catch (err) {
      return Promise.reject(this.#end(this.#pluginError(err)));
    }
    if (!isThenable(output)) {
      try {
        const items = this.#instance.schema.outputItems(output, DataStatus.ONCE);
        this.#end(undefined);
        return Promise.resolve(items);
      } catch (err) {
        return Promise.reject(this.#end(toAigesError(err)));
      }
    }
    this.#arm();
    const work = output instanceof Promise ? output : Promise.resolve(output);
    return new Promise<DataItem[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      // NOTE: both handlers stay attached after an abort, so a late rejection is handled (dropped).
      work.then(
        (value: unknown) => this.#fulfilled(value),
        (err: unknown) => this.#failed(err),
      );
    });
  }

  #fulfilled(value: unknown): void {
    if (this.#ended) return;
    const resolve = this.#resolve!;
    let items: DataItem[];
    try {
      items = this.#instance.schema.outputItems(value, DataStatus.ONCE);
    } catch (err) {
      this.#reject!(this.#end(toAigesError(err)));
      return;
    }
    this.#end(undefined);
    resolve(items);
  }

  #failed(err: unknown): void {
    if (this.#ended) return;
    this.#reject!(this.#end(this.#pluginError(err)));
  }

  /** A plugin's failure at the boundary; the call's own abort reason passes through unchanged. */
  #pluginError(err: unknown): AigesError {
    if (this.#reason !== undefined && err === this.#reason) return this.#reason;
    return wrapPluginError(err, Codes.PLUGIN_EXEC, 'plugin exec failed');
  }

  /** Starts timing the deadline (once). */
  #arm(): void {
    if (!this.#ended) this.#deadlines.add(this);
  }

  /** The deadline queue's call: the deadline passed. */
  expire(): void {
    this.abort(new AigesError(Codes.EXEC_TIMEOUT, `deadline of ${this.#timeoutMs} ms exceeded`));
  }

  /** Frees what the call holds, once; returns `error` for throwing. */
  #end<E extends AigesError | undefined>(error: E): E {
    if (this.#ended) return error;
    this.#ended = true;
    this.#deadlines.remove(this);
    this.#clientSignal?.removeEventListener('abort', this);
    if (this.#holdsExecSlot) this.#instance.execSlots.give();
    this.#onEnd(error);
    return error;
  }
}
