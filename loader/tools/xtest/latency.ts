/**
 * Latency histograms: HDR histograms (hdr-histogram-js) in microseconds, 3 significant digits,
 * resizing as needed, so that percentiles are exact to 0.1% whatever the run's length. Reported
 * in milliseconds.
 */
import * as hdr from 'hdr-histogram-js';

/** A latency distribution in milliseconds; every value but `count` is null when count is 0. */
export interface LatencySummary {
  count: number;
  min: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

export class LatencyHistogram {
  readonly #h = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });

  /** Records one latency in milliseconds (sub-microsecond values count as 1 µs). */
  record(ms: number): void {
    this.#h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.#h.totalCount;
  }

  summary(): LatencySummary {
    const h = this.#h;
    if (h.totalCount === 0) return { count: 0, min: null, mean: null, p50: null, p90: null, p95: null, p99: null, max: null };
    const min = round3(h.minNonZeroValue / 1000);
    const max = round3(h.maxValue / 1000);
    // NOTE: a percentile is its bucket's highest equivalent value, which may pass the exact
    // maximum by < 0.1%; clamped so that min ≤ p50 ≤ … ≤ p99 ≤ max always holds.
    const at = (p: number) => Math.min(max, Math.max(min, round3(h.getValueAtPercentile(p) / 1000)));
    return {
      count: h.totalCount,
      min,
      mean: round3(h.mean / 1000),
      p50: at(50),
      p90: at(90),
      p95: at(95),
      p99: at(99),
      max,
    };
  }

  /** Frees the histogram's buffers (a WebAssembly-backed one is not garbage-collected). */
  destroy(): void {
    this.#h.destroy();
  }
}
