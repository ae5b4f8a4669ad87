/**
 * The scheduler: `concurrency` workers, each making one call after another (a closed loop, as
 * AIGes's xtest does), started evenly over the ramp-up, until the request count is used up or
 * the duration has passed. Call numbers are handed out in order, so input i mod n of a directory
 * goes with call i whatever worker makes it.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { sliceFrames } from '../frames.js';
import { loadInputs } from '../inputs.js';
import { resolveOptions, XTEST_INPUTS, type XtestOptions, type XtestOptionsInput } from './options.js';
import { sampleProcess, type ProcReport } from './proc-sampler.js';
import { buildReport, type XtestReport } from './report.js';
import { Recorder } from './stats.js';
import type { Target } from './target.js';
import { grpcTarget } from './target-grpc.js';
import { httpTarget } from './target-http.js';

export interface XtestProgress {
  /** Calls finished, and of them failed. */
  done: number;
  failed: number;
  elapsedMs: number;
  /** How far the run is, 0..1: calls done of the count, or time passed of the duration. */
  fraction: number;
}

export interface XtestRun {
  readonly options: XtestOptions;
  /** Resolves with the report once every call started has finished. */
  readonly done: Promise<XtestReport>;
  progress(): XtestProgress;
  /** Stops starting calls (the ramp-up included); calls in flight finish and are reported. */
  stop(): void;
}

function makeTarget(o: XtestOptions): Target {
  return o.target.protocol === 'grpc' ? grpcTarget(o.target.address, o) : httpTarget(o.target.url, o);
}

/**
 * Starts a run. Bad options, unreadable inputs and an unreadable `pid` throw here, before any
 * call is made (a ToolError with its XTEST_* code); a failing target only yields failed calls.
 */
export function startXtest(input: XtestOptionsInput): XtestRun {
  const o = resolveOptions(input);
  const inputs = loadInputs(o.inputs, XTEST_INPUTS);
  const t0 = performance.now();
  const startedAt = new Date();
  const sampler = o.pid === undefined ? undefined : sampleProcess(o.pid, t0, o.sampleMs);
  const target = makeTarget(o);
  const recorder = new Recorder();
  const halt = new AbortController();
  // Each worker waits out its ramp-up delay on this signal.
  setMaxListeners(o.concurrency + 1, halt.signal);
  const onAbort = () => halt.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let issued = 0;

  const claim = (): number | undefined => {
    if (halt.signal.aborted) return undefined;
    if (o.requests !== undefined) return issued < o.requests ? issued++ : undefined;
    return performance.now() - t0 < (o.durationMs as number) ? issued++ : undefined;
  };
  const pause = () => sleep(o.frameIntervalMs);

  const worker = async (w: number) => {
    const delay = (o.rampUpMs * w) / o.concurrency;
    if (delay > 0) await sleep(delay, undefined, { signal: halt.signal }).catch(() => undefined);
    for (let i = claim(); i !== undefined; i = claim()) {
      const start = performance.now();
      const outcome =
        o.mode === 'once'
          ? await target.once(inputs.itemsFor(i))
          : await target.session(sliceFrames(inputs.itemsFor(i), o.frameBytes), pause);
      const end = performance.now();
      recorder.record(end - t0, end - start, outcome);
    }
  };

  const done = (async () => {
    let elapsedMs = 0;
    let sampled: ProcReport | null = null;
    try {
      await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
    } finally {
      // The run ends with its last call: sampling stops there, before the clients close.
      elapsedMs = performance.now() - t0;
      sampled = sampler?.stop() ?? null;
      o.signal?.removeEventListener('abort', onAbort);
      await target.close();
    }
    const stoppedEarly = halt.signal.aborted && (o.requests === undefined ? elapsedMs < (o.durationMs as number) : issued < o.requests);
    return buildReport({
      options: o,
      inputs: inputs.variants,
      startedAt,
      elapsedMs,
      stoppedEarly,
      tallies: recorder.finish(elapsedMs),
      process: sampled,
    });
  })();

  return {
    options: o,
    done,
    progress() {
      const { total, failed } = recorder.totals;
      const elapsedMs = performance.now() - t0;
      const fraction = o.requests !== undefined ? total / o.requests : Math.min(1, elapsedMs / (o.durationMs as number));
      return { done: total, failed, elapsedMs, fraction };
    },
    stop: () => halt.abort(),
  };
}

/** Runs a load test to the end and returns its report (the library entry point). */
export async function runXtest(input: XtestOptionsInput): Promise<XtestReport> {
  return startXtest(input).done;
}
