/**
 * Dynamic batching (Triton's dynamic batcher): once calls of a plugin instance set that opted in
 * (`batching`, `[plugin.batching]`) wait in a batch queue, and one exec runs the merged requests of
 * a group that can merge (batch-tensors.ts) up to `maxBatchSize` rows; its output is cut back into
 * each call's rows.
 *
 * When a batch runs: a group is ready when it holds `maxBatchSize` rows, or when its oldest call
 * has waited `maxQueueDelayMs` (0: at once). A ready group asks for an exec slot; the batch is
 * formed when the slot is granted, so the calls that come while every slot is busy join it. Calls
 * in the queue hold no exec slot (only a running batch does: one slot per batch, as
 * `plugin.concurrency` counts execs), so the queue never waits on itself; each call holds its
 * admission slot from the start, as any once call does.
 *
 * Each call keeps its own lifecycle (once-call.ts): its deadline or cancel while queued takes it
 * out of the queue and answers it; while its batch runs, it is answered and its rows are dropped.
 * The batch's exec is abandoned (its `ctx.signal` fires, hang detection starts) only when every call
 * in it was. A batch whose exec throws fails each of its calls with the same code; one whose output
 * cannot be cut fails each with 10203.
 */
import { AigesError, Codes, isAigesError } from '../errors.js';
import type { HistogramSeries } from '../metrics-histogram.js';
import type { ServiceStats } from '../metrics.js';
import type { SlotWaiter } from '../plugin/exec-slots.js';
import type { Batching, PluginInstance } from '../plugin/instance.js';
import type { InferRequest, ServiceCallOptions, ServiceRequest, ServiceResponse } from '../../plugins/types.js';
import { batchKey, mergeItems, splitOutputs } from './batch-tensors.js';
import type { CallTracker } from './call.js';
import { type ContextScope, EndListeners, NO_UNSUBSCRIBE, PluginCallContext } from './context.js';
import { MAX_TIMER_MS } from './deadline-queue.js';

/** A once call as the batcher sees it (OnceCall). */
export interface BatchMember {
  readonly request: InferRequest;
  readonly sid: string;
  readonly deadline: number;
  /** Whether the call was answered (deadline, cancel, drain, or its part of the batch). */
  readonly answered: boolean;
  /** `ctx.infer` nested under this call (pipe.ts). */
  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse>;
  /** Its batch is taking it: the exec starts now. */
  batchStarted(run: BatchRun): void;
  /** The batch's exec returned `value` (this call's part) or failed with `err`. */
  batchSettled(value: unknown, err: unknown, failed: boolean): void;
  /** The batch's output could not be cut into its calls' parts. */
  batchFailed(error: AigesError): void;
}

interface Queued {
  member: BatchMember;
  rows: number;
  /** When it joined the queue (performance.now()). */
  since: number;
}

/** Calls that can merge with each other, oldest first. */
interface Group {
  key: string;
  queued: Queued[];
  rows: number;
}

export class Batcher implements SlotWaiter {
  readonly instance: PluginInstance;
  readonly settings: Batching;
  readonly tracker: CallTracker;
  readonly stats: ServiceStats;
  readonly #sizes: HistogramSeries;
  readonly #delays: HistogramSeries;
  readonly #groups = new Map<string, Group>();
  readonly #groupOf = new Map<BatchMember, Group>();
  /** Queued in the exec slots for a slot. */
  #waiting = false;
  #pumpQueued = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  constructor(instance: PluginInstance, settings: Batching, tracker: CallTracker) {
    this.instance = instance;
    this.settings = settings;
    this.tracker = tracker;
    this.stats = tracker.metrics.of(instance.service);
    this.#sizes = tracker.metrics.batchSize.series(instance.service);
    this.#delays = tracker.metrics.batchQueueDelay.series(instance.service);
  }

  /** Calls waiting in the queue. */
  get queued(): number {
    return this.#groupOf.size;
  }

  /** Queues a call; false when its request cannot merge with others (it runs on its own, unqueued). */
  add(member: BatchMember): boolean {
    const request = member.request;
    const key = batchKey(request.items, request.params, request.version);
    if (key === undefined) return false;
    let group = this.#groups.get(key.key);
    if (group === undefined) {
      group = { key: key.key, queued: [], rows: 0 };
      this.#groups.set(key.key, group);
    }
    group.queued.push({ member, rows: key.rows, since: performance.now() });
    group.rows += key.rows;
    this.#groupOf.set(member, group);
    // NOTE: on a microtask, so calls made in the same turn (a client's burst, a test's Promise.all) meet.
    if (!this.#pumpQueued) {
      this.#pumpQueued = true;
      queueMicrotask(() => {
        this.#pumpQueued = false;
        this.#pump();
      });
    }
    return true;
  }

  /** Takes a queued call out (its deadline passed, or its client cancelled); false when it was not queued. */
  withdraw(member: BatchMember): boolean {
    const group = this.#groupOf.get(member);
    if (group === undefined) return false;
    this.#groupOf.delete(member);
    const i = group.queued.findIndex((q) => q.member === member);
    const [gone] = group.queued.splice(i, 1);
    group.rows -= gone!.rows;
    if (group.queued.length === 0) this.#groups.delete(group.key);
    return true;
  }

  /** ExecSlots: the batcher holds a slot now. */
  granted(): void {
    this.#waiting = false;
    // NOTE: on a microtask, not inside the `give` of the exec that freed the slot (as once-call.ts).
    queueMicrotask(() => {
      const group = this.#ready();
      if (group === undefined) this.instance.execSlots.give();
      else this.#run(group);
      this.#pump();
    });
  }

  /** Runs ready groups while exec slots are free; queues for a slot when none is. */
  #pump(): void {
    while (!this.#waiting) {
      const group = this.#ready();
      if (group === undefined) return;
      if (!this.instance.execSlots.tryTake()) {
        this.#waiting = true;
        this.instance.execSlots.wait(this);
        return;
      }
      this.#run(group);
    }
  }

  /** The ready group whose oldest call is oldest; sets the timer for the next group to become ready. */
  #ready(): Group | undefined {
    const { maxBatchSize, maxQueueDelayMs } = this.settings;
    const now = performance.now();
    let ready: Group | undefined;
    let due = Infinity;
    for (const group of this.#groups.values()) {
      const since = group.queued[0]!.since;
      if (group.rows >= maxBatchSize || now - since >= maxQueueDelayMs || batchCut(group.queued, this.settings).preferred > 0) {
        if (ready === undefined || since < ready.queued[0]!.since) ready = group;
      } else due = Math.min(due, since + maxQueueDelayMs);
    }
    if (due !== Infinity) this.#arm(due - now);
    return ready;
  }

  #arm(delay: number): void {
    // NOTE: a delay past a Node timer's limit would fire at once; such a wait ends at the calls' deadlines anyway.
    const delayMs = Math.min(MAX_TIMER_MS, delay);
    const at = Date.now() + delayMs;
    if (at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.ceil(delayMs));
    // The queued calls' deadlines keep the process alive; an emptied queue's timer need not.
    this.#timer.unref();
  }

  /** Takes the group's oldest calls (batchCut) and runs them on the slot held. */
  #run(group: Group): void {
    const cut = batchCut(group.queued, this.settings);
    const taken = group.queued.splice(0, cut.preferred > 0 ? cut.preferred : cut.full);
    const now = performance.now();
    const members: BatchMember[] = [];
    const rows: number[] = [];
    let total = 0;
    for (const next of taken) {
      this.#groupOf.delete(next.member);
      members.push(next.member);
      rows.push(next.rows);
      total += next.rows;
      this.#delays.observe((now - next.since) / 1000);
      // V2 statistics: a batched call's queue is its wait in the batch queue (once-call.ts times the
      // wait for a slot of the calls that run alone).
      this.stats.queue.count++;
      this.stats.queue.seconds += (now - next.since) / 1000;
    }
    group.rows -= total;
    if (group.queued.length === 0) this.#groups.delete(group.key);
    this.stats.batches++;
    this.#sizes.observe(total);
    new BatchRun(this, members, rows).start();
  }
}

/**
 * How many of a group's oldest calls the next batch takes: `full`, as many as fit in
 * `maxBatchSize` rows (at least one: a call larger than it runs alone); `preferred`, the most whose
 * rows add up to a preferred batch size (0 when no prefix does). A batch takes `preferred` calls
 * when there is such a prefix, else `full`.
 */
export function batchCut(
  queued: readonly { rows: number }[],
  settings: Pick<Batching, 'maxBatchSize' | 'preferredBatchSizes'>,
): { full: number; preferred: number } {
  const { maxBatchSize, preferredBatchSizes } = settings;
  let total = 0;
  let full = 0;
  let preferred = 0;
  for (const q of queued) {
    if (full > 0 && total + q.rows > maxBatchSize) break;
    total += q.rows;
    full++;
    if (total <= maxBatchSize && preferredBatchSizes.includes(total)) preferred = full;
    if (total >= maxBatchSize) break;
  }
  return { full, preferred };
}

/**
 * One exec of a batch: its context's scope (deadline, signal) and its exec slot. The deadline is
 * the latest of its calls'; the signal fires when every call was answered without its result.
 */
export class BatchRun implements ContextScope {
  readonly deadline: number;
  readonly #batcher: Batcher;
  readonly #members: readonly BatchMember[];
  readonly #rows: readonly number[];
  #controller: AbortController | undefined;
  /** onEnd's listeners (made by the first). */
  #ends: EndListeners | undefined;
  #abandoned = 0;
  #reason: AigesError | undefined;
  #hangTimer: NodeJS.Timeout | undefined;
  #stuck = false;
  #started = 0;

  constructor(batcher: Batcher, members: readonly BatchMember[], rows: readonly number[]) {
    this.#batcher = batcher;
    this.#members = members;
    this.#rows = rows;
    let deadline = 0;
    for (const m of members) deadline = Math.max(deadline, m.deadline);
    this.deadline = deadline;
  }

  /** The calls in the batch. */
  get calls(): number {
    return this.#members.length;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** `signal`'s firing without the signal (context.ts). */
  onEnd(listener: (reason: unknown) => void): () => void {
    if (this.#reason !== undefined) return NO_UNSUBSCRIBE;
    return (this.#ends ??= new EndListeners()).add(listener);
  }

  /** A call of the batch was answered without its result (deadline, cancel, drain). */
  memberAborted(reason: AigesError): void {
    if (++this.#abandoned < this.#members.length) return;
    // Every call is gone: the exec is abandoned, and past the hang grace it is stuck (once-call.ts).
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#ends?.fire(reason);
    const graceMs = this.#batcher.tracker.hangGraceMs;
    this.#hangTimer = setTimeout(() => {
      this.#hangTimer = undefined;
      this.#stuck = true;
      this.#batcher.stats.stuck++;
      this.#batcher.instance.stuckChanged(1, graceMs);
    }, graceMs);
    this.#hangTimer.unref();
  }

  /**
   * `ctx.infer` from the batch's exec: nested under the call of the batch that waits longest (its
   * deadline and cancel bound the inner call); refused with the batch's reason when none waits.
   */
  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse> {
    let parent: BatchMember | undefined;
    for (const m of this.#members) if (!m.answered && (parent === undefined || m.deadline > parent.deadline)) parent = m;
    if (parent === undefined) {
      return Promise.reject(this.#reason ?? new AigesError(Codes.CANCELLED, 'every call of the batch was answered'));
    }
    return parent.infer(service, request, options);
  }

  start(): void {
    const members = this.#members;
    for (const m of members) m.batchStarted(this);
    this.#started = performance.now();
    const first = members[0]!;
    const instance = this.#batcher.instance;
    const request =
      members.length === 1 ? first.request : { ...first.request, headers: {}, items: mergeItems(members.map((m) => m.request)) };
    let output: unknown;
    try {
      output = instance.wrapper.exec!(request, new PluginCallContext(instance, first.sid, this));
    } catch (err) {
      return this.#settled(undefined, err, true);
    }
    if (typeof (output as PromiseLike<unknown> | null)?.then !== 'function') return this.#settled(output, undefined, false);
    (output as PromiseLike<unknown>).then(
      (value) => this.#settled(value, undefined, false),
      (err: unknown) => this.#settled(undefined, err, true),
    );
  }

  #settled(value: unknown, err: unknown, failed: boolean): void {
    const batcher = this.#batcher;
    batcher.instance.execSlots.give();
    // V2 statistics, as Triton counts compute_infer: each call of the batch spent the batch's exec.
    const members = this.#members;
    batcher.stats.exec.count += members.length;
    batcher.stats.exec.seconds += (members.length * (performance.now() - this.#started)) / 1000;
    if (this.#hangTimer !== undefined) clearTimeout(this.#hangTimer);
    if (this.#stuck) {
      this.#stuck = false;
      batcher.stats.stuck--;
      batcher.instance.stuckChanged(-1, batcher.tracker.hangGraceMs);
    }
    if (members.length === 1) {
      if (!failed) batcher.stats.batchesOk++;
      return members[0]!.batchSettled(value, err, failed);
    }
    if (failed) {
      // Each call gets its own error object: the loader stamps the call's sid on it.
      for (const m of members) m.batchSettled(undefined, ownCopy(err), true);
      return;
    }
    let parts: unknown[][];
    try {
      parts = splitOutputs(value, this.#rows);
    } catch (e) {
      const error = e as AigesError;
      for (const m of members) m.batchFailed(new AigesError(error.aigesCode, error.message));
      return;
    }
    batcher.stats.batchesOk++;
    for (const [i, m] of members.entries()) m.batchSettled(parts[i], undefined, false);
  }
}

/** A plugin's coded error copied (a fresh object per call), anything else as it is. */
function ownCopy(err: unknown): unknown {
  if (!isAigesError(err)) return err;
  return new AigesError(err.aigesCode, err.message, { cause: err, detail: err.detail });
}
