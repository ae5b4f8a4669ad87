/**
 * Everything counted during a run: calls by outcome, the error-code distribution, latency
 * histograms (whole call; in session mode also first and last result) and the timeline.
 */
import { LatencyHistogram, type LatencySummary } from './latency.js';
import type { CallOutcome } from './target.js';
import { Timeline, type TimelineReport } from './timeline.js';

export interface ErrorCount {
  /** An aiges-code ("10909"), or `grpc:<STATUS>`, `http:<status>`, `net:<errno>` (see target.ts). */
  code: string;
  count: number;
  /** The first message seen with this code. */
  message: string;
}

export interface Totals {
  total: number;
  succeeded: number;
  failed: number;
}

export interface Tallies {
  requests: Totals;
  errors: ErrorCount[];
  latency: LatencySummary;
  firstResult: LatencySummary;
  lastResult: LatencySummary;
  timeline: TimelineReport;
}

export class Recorder {
  #succeeded = 0;
  #failed = 0;
  readonly #errors = new Map<string, ErrorCount>();
  readonly #latency = new LatencyHistogram();
  readonly #first = new LatencyHistogram();
  readonly #last = new LatencyHistogram();
  readonly #timeline = new Timeline();

  /**
   * One finished call, `atMs` after the run's start, that took `latencyMs`. Only successes enter
   * the latency histograms: a refusal in microseconds would otherwise pass for a fast answer.
   */
  record(atMs: number, latencyMs: number, outcome: CallOutcome): void {
    this.#timeline.record(atMs, outcome.ok ? latencyMs : undefined);
    if (!outcome.ok) {
      this.#failed++;
      const code = outcome.code ?? 'unknown';
      const seen = this.#errors.get(code);
      if (seen === undefined) this.#errors.set(code, { code, count: 1, message: outcome.message ?? '' });
      else seen.count++;
      return;
    }
    this.#succeeded++;
    this.#latency.record(latencyMs);
    if (outcome.firstResultMs !== undefined) this.#first.record(outcome.firstResultMs);
    if (outcome.lastResultMs !== undefined) this.#last.record(outcome.lastResultMs);
  }

  get totals(): Totals {
    return { total: this.#succeeded + this.#failed, succeeded: this.#succeeded, failed: this.#failed };
  }

  /** The tallies at the end of the run; frees the histograms (call once). */
  finish(elapsedMs: number): Tallies {
    const tallies: Tallies = {
      requests: this.totals,
      // Most frequent first; ties in code order, so the order is stable run to run.
      errors: [...this.#errors.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
      latency: this.#latency.summary(),
      firstResult: this.#first.summary(),
      lastResult: this.#last.summary(),
      timeline: this.#timeline.report(elapsedMs),
    };
    for (const h of [this.#latency, this.#first, this.#last]) h.destroy();
    return tallies;
  }
}
