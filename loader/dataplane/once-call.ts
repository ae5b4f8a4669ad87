/**
 * One admitted once call, from its exec slot to its answer (call.ts has the lifecycle).
 *
 * The exec slot is taken before the plugin's exec starts (at once, or in order when all are in
 * use) and given back when the exec returns or settles. At the deadline or a cancel the client is
 * answered (10102, 10202) at once; an exec still running is abandoned: its `ctx.signal` fires, its
 * late result is dropped, and it keeps its exec slot and its instance set until it settles, so a
 * plugin never runs more than `plugin.concurrency` execs at once.
 *
 * With dynamic batching (batcher.ts) a call whose request can merge waits in the batch queue instead,
 * holding no exec slot; its batch's run holds one for all its calls. Its deadline or cancel while
 * queued takes it out of the queue; while its batch runs it is answered at once and its part of
 * the output dropped, as for an abandoned exec.
 *
 * A successful output is checked against the schema, then handed to the adapter's `encode` (which
 * serializes it); after that the plugin kind may take the outputs' memory back
 * (PluginInstance.releaseOutputs), since nothing reads them again.
 *
 * NOTE: the loader's hottest path, so it allocates little: one object per call and a context
 * object; the deadline is queued (deadline-queue.ts: one timer for all calls) only from the moment
 * the call waits on something (a sync exec cannot be interrupted, so it needs none); a promise of
 * its own only when it waits (for a slot or an async exec).
 */
import { AigesError, Codes, toAigesError, wrapPluginError } from '../errors.js';
import type { PluginInstance } from '../plugin/instance.js';
import type { SlotWaiter } from '../plugin/exec-slots.js';
import { DataStatus, type DataItem, type InferRequest } from '../../plugins/types.js';
import type { Batcher, BatchMember, BatchRun } from './batcher.js';
import { Call, type CallTracker } from './call.js';
import { PluginCallContext } from './context.js';

/** Turns a successful output into what the adapter sends (e.g. serialized bytes). */
export type Encode<T> = (items: DataItem[], sid: string) => T;

/** Whether a plugin's result is a promise (or any thenable) to await, rather than a value. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

type State = 'new' | 'queued' | 'batched' | 'running' | 'done';

export class OnceCall<T> extends Call implements SlotWaiter, BatchMember {
  readonly #request: InferRequest;
  readonly #encode: Encode<T> | undefined;
  /** The instance set's batcher, when it batches once calls. */
  readonly #batcher: Batcher | undefined;
  /** The batch run this call is part of, once its batch started. */
  #batch: BatchRun | undefined;
  #state: State = 'new';
  #holdsSlot = false;
  /** Set while an abandoned exec runs on: when it fires, the call counts as stuck. */
  #hangTimer: NodeJS.Timeout | undefined;
  #stuck = false;
  /** When the plugin's exec started (performance.now()); 0: not running. */
  #execStarted = 0;
  #value: T | undefined;
  #error: AigesError | undefined;
  /** Set while the call waits (for a slot or an async exec): settle the call's promise. */
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: AigesError) => void) | undefined;

  constructor(
    tracker: CallTracker,
    instance: PluginInstance,
    request: InferRequest,
    sid: string,
    deadline: number,
    timeoutMs: number,
    encode: Encode<T> | undefined,
    parent?: Call,
    inheritedDepth?: number,
    batcher?: Batcher,
  ) {
    super(tracker, instance, sid, 'once', deadline, timeoutMs, parent, inheritedDepth);
    this.#request = request;
    this.#encode = encode;
    this.#batcher = batcher;
  }

  get request(): InferRequest {
    return this.#request;
  }

  /** Runs the call; the promise settles once, with the encoded output or an AigesError. */
  run(): Promise<T> {
    const reason = this.reason;
    if (reason !== undefined) {
      this.#state = 'done';
      this.release();
      return Promise.reject(this.answer(reason));
    }
    // A call its own service's plugin made (A calling A) is not batched: its batch could wait for
    // the slot its caller holds; it takes the slot path, which refuses that wait below.
    if (!this.#callerHoldsSlot() && this.#batcher?.add(this)) {
      this.#state = 'batched';
      this.armDeadline();
    } else if (this.instance.execSlots.tryTake()) {
      this.#holdsSlot = true;
      if (this.#exec()) return this.#error === undefined ? Promise.resolve(this.#value as T) : Promise.reject(this.#error);
    } else if (this.#callerHoldsSlot()) {
      // NOTE: waiting would deadlock when the slot to wait for is one this call's own caller holds
      // (A calling A with every slot taken): refused at once, retryable elsewhere.
      this.#state = 'done';
      this.release();
      return Promise.reject(
        this.answer(
          new AigesError(
            Codes.CAPACITY,
            `every exec slot of ${this.service} is taken, one by this call's own caller: waiting would deadlock`,
          ),
        ),
      );
    } else {
      this.#state = 'queued';
      this.armDeadline();
      this.instance.execSlots.wait(this);
    }
    return new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  override holdsExecSlot(instance: PluginInstance): boolean {
    // A batched call holds its batch run's slot while the batch runs.
    return this.instance === instance && (this.#holdsSlot || (this.#batch !== undefined && this.#state !== 'done'));
  }

  /** Whether a call up this one's `ctx.infer` chain holds a slot of this call's instance set. */
  #callerHoldsSlot(): boolean {
    for (let c = this.parent; c !== undefined; c = c.parent) if (c.holdsExecSlot(this.instance)) return true;
    return false;
  }

  /** ExecSlots: this call holds a slot now. */
  granted(): void {
    this.#holdsSlot = true;
    // NOTE: run on a microtask, not inside the `give` of the call that freed the slot: a chain of
    // sync execs would otherwise nest one stack frame deeper per waiting call.
    queueMicrotask(() => {
      if (this.answered) return this.#pluginDone();
      if (this.#exec()) this.#settle();
    });
  }

  /** Batcher: this call's batch starts its exec. */
  batchStarted(run: BatchRun): void {
    this.#state = 'running';
    this.#batch = run;
  }

  /** Batcher: the batch's exec is over; `value` is this call's part of its output. */
  batchSettled(value: unknown, err: unknown, failed: boolean): void {
    this.#settled(value, err, failed);
  }

  /** Batcher: the batch's output could not be cut into its calls' parts. */
  batchFailed(error: AigesError): void {
    this.#pluginDone();
    if (this.answered) return;
    this.#fail(error);
    this.#settle();
  }

  protected aborted(reason: AigesError): void {
    if (this.#state === 'queued') {
      this.instance.execSlots.withdraw(this);
      this.release();
    } else if (this.#state === 'batched') {
      this.#batcher!.withdraw(this);
      this.release();
    } else if (this.#state !== 'running') {
      return; // not run yet: run() answers with the reason
    } else if (this.#batch !== undefined) {
      // In a running batch: the batch run times the hang once every call of it is gone.
      this.#batch.memberAborted(reason);
    } else {
      // Running: the exec is abandoned and keeps its slot until it settles (#pluginDone); past
      // the hang grace it counts as stuck.
      const graceMs = this.tracker.hangGraceMs;
      this.#hangTimer = setTimeout(() => this.#hung(graceMs), graceMs);
      this.#hangTimer.unref();
    }
    this.#fail(reason);
    this.#settle();
  }

  #hung(graceMs: number): void {
    this.#hangTimer = undefined;
    this.#stuck = true;
    this.stats.stuck++;
    this.instance.stuckChanged(1, graceMs);
  }

  /** Starts the exec; true when the call settled synchronously (#value or #error set). */
  #exec(): boolean {
    this.#state = 'running';
    // The wait before the exec (for its slot) and the exec itself, for V2 statistics.
    const now = performance.now();
    this.#execStarted = now;
    this.stats.queue.count++;
    this.stats.queue.seconds += (now - this.startedAt) / 1000;
    let output: unknown;
    try {
      output = this.instance.wrapper.exec!(this.#request, new PluginCallContext(this.instance, this.sid, this));
    } catch (err) {
      this.#pluginDone();
      return this.#fail(this.#pluginError(err));
    }
    if (!isThenable(output)) {
      this.#pluginDone();
      return this.#succeed(output);
    }
    this.armDeadline();
    // NOTE: both handlers stay attached after an abort, so a late rejection is handled (dropped).
    output.then(
      (value: unknown) => this.#settled(value, undefined, false),
      (err: unknown) => this.#settled(undefined, err, true),
    );
    return false;
  }

  #settled(value: unknown, err: unknown, failed: boolean): void {
    this.#pluginDone();
    if (this.answered) return; // abandoned: the late result is dropped
    if (failed) this.#fail(this.#pluginError(err));
    else this.#succeed(value);
    this.#settle();
  }

  /** Checks and encodes the output, releases it, answers; true (settled). */
  #succeed(output: unknown): boolean {
    let items: DataItem[];
    let value: T;
    try {
      items = this.instance.schemaOf(this.#request.version).outputItems(output, DataStatus.ONCE);
      value = this.#encode === undefined ? (items as T) : this.#encode(items, this.sid);
    } catch (err) {
      return this.#fail(toAigesError(err));
    }
    const batch = this.#batch;
    if (batch !== undefined) this.stats.batchedOk++;
    // NOTE: the parts of a batch of several calls are views of the batch's outputs, which the other
    // calls still read: only a call's own outputs are released.
    if (this.#encode !== undefined && (batch === undefined || batch.calls === 1)) this.instance.releaseOutputs(items);
    this.#value = value;
    this.#state = 'done';
    this.answer(undefined);
    return true;
  }

  #fail(error: AigesError): boolean {
    this.#error = this.answer(error);
    this.#state = 'done';
    return true;
  }

  /** Settles the call's promise (made when it waited) with the outcome. */
  #settle(): void {
    const error = this.#error;
    if (error === undefined) this.#resolve!(this.#value as T);
    else this.#reject!(error);
  }

  /** The plugin's exec is over (returned, threw or settled): its slot and instance set are free. */
  #pluginDone(): void {
    if (this.#execStarted !== 0) {
      this.stats.exec.count++;
      this.stats.exec.seconds += (performance.now() - this.#execStarted) / 1000;
      this.#execStarted = 0;
    }
    if (this.#holdsSlot) {
      this.#holdsSlot = false;
      this.instance.execSlots.give();
    }
    if (this.#hangTimer !== undefined) clearTimeout(this.#hangTimer);
    if (this.#stuck) {
      this.#stuck = false;
      this.stats.stuck--;
      this.instance.stuckChanged(-1, this.tracker.hangGraceMs);
    }
    this.release();
  }

  /** A plugin's failure at the boundary; the call's own abort reason passes through unchanged. */
  #pluginError(err: unknown): AigesError {
    const reason = this.reason;
    if (reason !== undefined && err === reason) return reason;
    return wrapPluginError(err, Codes.PLUGIN_EXEC, 'plugin exec failed');
  }
}
