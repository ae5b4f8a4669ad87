/**
 * The closed loop that drives every load `aiges xtest` makes (and the benchmark's, test/bench):
 * `concurrency` workers, each making one call after another (as AIGes's xtest does), started
 * evenly over the ramp-up, until the call count is used up, the duration has passed, or stop().
 * Call numbers are handed out in order, so input i mod n of a directory goes with call i whatever
 * worker makes it. What a call is, and what is measured of it, is the caller's.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoopOptions {
  /** Calls in flight at a time: one per worker. */
  concurrency: number;
  /** Worker w starts rampUpMs·w/concurrency after the start (default 0: all at once). */
  rampUpMs?: number;
  /** Start calls numbered 0 … requests−1 only. */
  requests?: number | undefined;
  /** Start no call this long after the start. Without either limit the loop runs until stop(). */
  durationMs?: number | undefined;
  /** The start, as a performance.now() value, when the caller's run began earlier (default: now). */
  startedAt?: number;
}

export interface Loop {
  /** Calls started so far. */
  readonly issued: number;
  /** True once stop() was called, or a call threw. */
  readonly stopped: boolean;
  /**
   * Resolves once every call started has finished; rejects with the first error a call threw
   * (which stops the loop), once the calls in flight have finished.
   */
  readonly done: Promise<void>;
  /** Stops starting calls (the ramp-up included); calls in flight finish. */
  stop(): void;
}

/** Runs `call(i)` for i = 0, 1, … in a closed loop of `concurrency` workers. */
export function startLoop(o: LoopOptions, call: (i: number) => Promise<void>): Loop {
  const startedAt = o.startedAt ?? performance.now();
  const halt = new AbortController();
  // Each worker waits out its ramp-up delay on this signal.
  setMaxListeners(o.concurrency + 1, halt.signal);
  let issued = 0;
  let failure: { error: unknown } | undefined;

  const claim = (): number | undefined => {
    if (halt.signal.aborted) return undefined;
    if (o.requests !== undefined && issued >= o.requests) return undefined;
    if (o.durationMs !== undefined && performance.now() - startedAt >= o.durationMs) return undefined;
    return issued++;
  };

  const worker = async (w: number) => {
    const delay = ((o.rampUpMs ?? 0) * w) / o.concurrency;
    if (delay > 0) await sleep(delay, undefined, { signal: halt.signal }).catch(() => undefined);
    for (let i = claim(); i !== undefined; i = claim()) {
      try {
        await call(i);
      } catch (error) {
        failure ??= { error };
        halt.abort();
      }
    }
  };

  const done = Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w))).then(() => {
    if (failure !== undefined) throw failure.error;
  });

  return {
    get issued() {
      return issued;
    },
    get stopped() {
      return halt.signal.aborted;
    },
    done,
    stop: () => halt.abort(),
  };
}
