/**
 * A run: inputs read, the target process sampled, the closed loop (loop.ts) making each call
 * through the protocol's target and the recorder counting it, then the report.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { hasTlsFiles, readClientTls } from '../client-tls.js';
import { ToolError } from '../errors.js';
import { sliceFrames } from '../frames.js';
import { loadInputs } from '../inputs.js';
import { resolveOptions, XTEST_INPUTS, type XtestOptions, type XtestOptionsInput } from './options.js';
import { startLoop } from './loop.js';
import { sampleProcess, type ProcReport } from './proc-sampler.js';
import { buildReport, type XtestReport } from './report.js';
import { Recorder } from './stats.js';
import { invalidOption, XtestCodes } from './errors.js';
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
  const tls = hasTlsFiles(o.tls)
    ? readClientTls(o.tls, (message, unreadable) =>
        unreadable ? new ToolError(XtestCodes.INPUT_UNREADABLE, message) : invalidOption(message),
      )
    : undefined;
  const options = { ...o, tls };
  return o.target.protocol === 'grpc' ? grpcTarget(o.target.address, options) : httpTarget(o.target.url, options);
}

/**
 * Starts a run. Bad options, unreadable inputs and an unreadable `pid` throw here, before any
 * call is made (a ToolError with its XTEST_* code); a failing target only yields failed calls.
 */
export function startXtest(input: XtestOptionsInput): XtestRun {
  const o = resolveOptions(input);
  const inputs = loadInputs(o.inputs, XTEST_INPUTS);
  const startedAt = new Date();
  const t0 = performance.now();
  const sampler = o.pid === undefined ? undefined : sampleProcess(o.pid, t0, o.sampleMs);
  const target = makeTarget(o);
  const recorder = new Recorder();
  const pause = () => sleep(o.frameIntervalMs);

  const { concurrency, rampUpMs, requests, durationMs } = o;
  const loop = startLoop({ concurrency, rampUpMs, requests, durationMs, startedAt: t0 }, async (i) => {
    const start = performance.now();
    const outcome =
      o.mode === 'once'
        ? await target.once(inputs.itemsFor(i))
        : await target.session(sliceFrames(inputs.itemsFor(i), o.frameBytes), pause);
    const end = performance.now();
    recorder.record(end - t0, end - start, outcome);
  });
  const onAbort = () => loop.stop();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const done = (async () => {
    let elapsedMs = 0;
    let sampled: ProcReport | null = null;
    try {
      await loop.done;
    } finally {
      // The run ends with its last call: sampling stops there, before the clients close.
      elapsedMs = performance.now() - t0;
      sampled = sampler?.stop() ?? null;
      o.signal?.removeEventListener('abort', onAbort);
      await target.close();
    }
    const stoppedEarly = loop.stopped && (o.requests === undefined ? elapsedMs < (o.durationMs as number) : loop.issued < o.requests);
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
    stop: () => loop.stop(),
  };
}

/** Runs a load test to the end and returns its report (the library entry point). */
export async function runXtest(input: XtestOptionsInput): Promise<XtestReport> {
  return startXtest(input).done;
}
