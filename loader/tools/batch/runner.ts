/**
 * The batch job: reads requests from a source, keeps at most `concurrency` calls in flight (the
 * source is pulled only when a slot is free, so memory holds the requests in flight, not the
 * input), retries retryable failures with exponential backoff, and writes each item as it ends:
 * its prediction line, or its failure to errors.jsonl. No failure stops the job.
 *
 * `stop()` (Ctrl-C): no new item starts; the calls in flight finish (each is bounded by its
 * deadline) and are written; then the summary. Ids done by an earlier run are skipped, and an id
 * seen twice in one input fails as `duplicate-id` (its first answer stands).
 *
 * NOTE: the ids seen are kept in a set, so memory grows by one id per item (tens of bytes), which
 * is what a resumable job has to remember; the requests and answers themselves are not kept.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Codes } from '../../errors.js';
import { LatencyHistogram } from '../xtest/latency.js';
import type { OutDir } from './out-dir.js';
import { type Extracted, type ExtractedV2, extractPrediction, extractV2Prediction, type PredictionRule } from './prediction.js';
import type { BatchRequest, ItemsRequest, SourceEntry, V2Request } from './sources.js';
import type { BatchTarget } from './target.js';
import type { BatchSummary } from './summary.js';

/** Codes worth another try: capacity (10110), a draining or inactive loader (10101), transport trouble. */
export const RETRYABLE = new Set([
  String(Codes.CAPACITY),
  String(Codes.INSTANCE_INACTIVE),
  'grpc:UNAVAILABLE',
  'net:ECONNREFUSED',
  'net:ECONNRESET',
  'net:UND_ERR_SOCKET',
  'http:502',
  'http:503',
]);

/** The code of a call that answered but whose answer gave no prediction (docs/batch.md). */
export const OUTPUT_CODE = 'output';
export const DUPLICATE_CODE = 'duplicate-id';

/** A try that failed: its code and message, for the retry rule and errors.jsonl. */
type Refusal = { code?: string | undefined; message?: string | undefined };

export interface BatchOptions {
  source: AsyncIterable<SourceEntry>;
  target: BatchTarget;
  out: OutDir;
  concurrency: number;
  /** Tries after the first, for retryable codes. */
  retries: number;
  /** The first backoff; each next one doubles, up to 30 s, with jitter (half to all of it). */
  backoffMs: number;
  prediction: PredictionRule;
  outputFiles: boolean;
  /** For the summary. */
  describe: Pick<BatchSummary, 'target' | 'service' | 'input'>;
}

export interface BatchProgress {
  /** Items finished, skipped ones included. */
  done: number;
  failed: number;
  skipped: number;
  elapsedMs: number;
}

export class BatchJob {
  readonly done: Promise<BatchSummary>;
  #stopped = false;
  /** The input was cut short by stop(). */
  #cut = false;
  /** Wakes the loop waiting for a free slot (a call ended, or stop()). */
  #wake: (() => void) | undefined;
  readonly #t0 = performance.now();
  readonly #latency = new LatencyHistogram();
  readonly #failures = new Map<string, { count: number; message: string }>();
  #read = 0;
  #skipped = 0;
  #ok = 0;
  #failed = 0;
  #retries = 0;

  constructor(private readonly o: BatchOptions) {
    this.done = this.#run();
  }

  /** Starts no new item; those in flight finish and are written. */
  stop(): void {
    this.#stopped = true;
    this.#wakeLoop();
  }

  #wakeLoop(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  progress(): BatchProgress {
    return {
      done: this.#skipped + this.#ok + this.#failed,
      failed: this.#failed,
      skipped: this.#skipped,
      elapsedMs: performance.now() - this.#t0,
    };
  }

  #fail(id: string, code: string, message: string, attempts: number): void {
    this.#failed++;
    const seen = this.#failures.get(code);
    if (seen === undefined) this.#failures.set(code, { count: 1, message });
    else seen.count++;
    this.o.out.error({ id, code, message, attempts });
  }

  async #call(req: BatchRequest): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      const outcome = req.v2 === undefined ? await this.#once(req, t0, attempt) : await this.#v2(req, t0, attempt);
      if (outcome === undefined) return;
      const code = outcome.code ?? 'ERROR';
      if (!RETRYABLE.has(code) || attempt > this.o.retries || this.#stopped) {
        return this.#fail(req.id, code, outcome.message ?? '', attempt);
      }
      this.#retries++;
      const full = Math.min(30_000, this.o.backoffMs * 2 ** (attempt - 1));
      await sleep(full / 2 + (Math.random() * full) / 2);
    }
  }

  /** One try of an AIGes request: written and undefined when answered, else the failure to judge. */
  async #once(req: ItemsRequest, t0: number, attempt: number): Promise<Refusal | undefined> {
    const outcome = await this.o.target.once(req.items, req.params);
    if (!outcome.ok) return outcome;
    const ms = performance.now() - t0;
    const extracted = extractPrediction(outcome.outputs ?? [], this.o.prediction);
    const files = this.o.outputFiles && extracted.ok ? { files: this.o.out.outputFiles(req.id, outcome.outputs ?? []) } : {};
    this.#answered(req.id, extracted, files, ms, attempt);
    return undefined;
  }

  /** One try of a V2 request, as `#once`: its output tensors are written in its line. */
  async #v2(req: V2Request, t0: number, attempt: number): Promise<Refusal | undefined> {
    const outcome = await this.o.target.v2(req.v2);
    if (!outcome.ok) return outcome;
    const ms = performance.now() - t0;
    this.#answered(req.id, extractV2Prediction(outcome.answer, this.o.prediction), {}, ms, attempt);
    return undefined;
  }

  #answered(id: string, extracted: Extracted | ExtractedV2, files: object, ms: number, attempt: number): void {
    if (!extracted.ok) return this.#fail(id, OUTPUT_CODE, extracted.message, attempt);
    this.o.out.prediction({ id, ...extracted.fields, ...files, ms: Math.round(ms * 1000) / 1000 });
    this.#latency.record(ms);
    this.#ok++;
  }

  async #run(): Promise<BatchSummary> {
    const inFlight = new Set<Promise<void>>();
    const started = new Set<string>();
    // NOTE: a wake-up per ended call, not Promise.race over the calls and a stop promise: each race
    // would leave a reaction on the long-lived stop promise, a leak of one per item.
    const slotFree = () =>
      new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    try {
      for await (const entry of this.o.source) {
        if (this.#stopped) {
          this.#cut = true;
          break;
        }
        const id = 'request' in entry ? entry.request.id : entry.bad.id;
        this.#read++;
        if (this.o.out.done.has(id)) {
          this.#skipped++;
          continue;
        }
        if (started.has(id)) {
          this.#fail(id, DUPLICATE_CODE, `id ${id} is given twice in the input; its first request was made`, 0);
          continue;
        }
        started.add(id);
        if ('bad' in entry) {
          this.#fail(id, entry.bad.code, entry.bad.message, 0);
          continue;
        }
        const call: Promise<void> = this.#call(entry.request).finally(() => {
          inFlight.delete(call);
          this.#wakeLoop();
        });
        inFlight.add(call);
        while (inFlight.size >= this.o.concurrency && !this.#stopped) await slotFree();
      }
      await Promise.all(inFlight);
    } finally {
      // On a source error too: what is in flight is written before the error surfaces.
      await Promise.allSettled(inFlight);
    }
    return this.#summary();
  }

  #summary(): BatchSummary {
    const elapsedMs = performance.now() - this.#t0;
    const summary: BatchSummary = {
      schemaVersion: 1,
      ...this.o.describe,
      out: this.o.out.dir,
      concurrency: this.o.concurrency,
      items: { read: this.#read, skipped: this.#skipped, ok: this.#ok, failed: this.#failed },
      failures: [...this.#failures].map(([code, f]) => ({ code, ...f })).sort((a, b) => b.count - a.count),
      retries: this.#retries,
      elapsedMs: Math.round(elapsedMs),
      itemsPerS: elapsedMs === 0 ? 0 : Math.round(((this.#ok + this.#failed) / elapsedMs) * 1000 * 100) / 100,
      latencyMs: this.#latency.summary(),
      stoppedEarly: this.#cut,
    };
    this.#latency.destroy();
    return summary;
  }
}
