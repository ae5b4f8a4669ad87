/**
 * Latency over time, for the report's `timeline` and the chart. Completions are counted exactly
 * per 10 ms tick; latencies are kept as samples (time, latency) up to a bound, past which every
 * other sample is dropped and only every 2nd, 4th, … new one is kept, so memory stays bounded
 * on long runs while each time bucket keeps an even share of samples. At the end the run is cut
 * into at most `MAX_BUCKETS` buckets of a round width.
 */
export interface TimelineBucket {
  /** Bucket start, from the run's start. */
  tMs: number;
  succeeded: number;
  failed: number;
  /** Latencies of the successes sampled in this bucket (null when none). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface TimelineReport {
  bucketMs: number;
  buckets: TimelineBucket[];
}

const TICK_MS = 10;
const MAX_SAMPLES = 200_000;
export const MAX_BUCKETS = 60;
const WIDTHS_MS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];

export class Timeline {
  readonly #ok: number[] = [];
  readonly #failed: number[] = [];
  #times: number[] = [];
  #latencies: number[] = [];
  #stride = 1;
  #seen = 0;

  /** A call that ended `atMs` after the run's start: a success with its latency, or a failure. */
  record(atMs: number, latencyMs: number | undefined): void {
    const tick = Math.floor(atMs / TICK_MS);
    const counts = latencyMs === undefined ? this.#failed : this.#ok;
    while (counts.length <= tick) counts.push(0);
    counts[tick] = (counts[tick] as number) + 1;
    if (latencyMs === undefined || this.#seen++ % this.#stride !== 0) return;
    this.#times.push(atMs);
    this.#latencies.push(latencyMs);
    if (this.#times.length >= MAX_SAMPLES) {
      this.#times = this.#times.filter((_, i) => i % 2 === 0);
      this.#latencies = this.#latencies.filter((_, i) => i % 2 === 0);
      this.#stride *= 2;
    }
  }

  report(elapsedMs: number): TimelineReport {
    const width = WIDTHS_MS.find((w) => elapsedMs / w <= MAX_BUCKETS) ?? Math.ceil(elapsedMs / MAX_BUCKETS / 60_000) * 60_000;
    // Enough buckets to cover every tick counted (a call may end just past `elapsedMs`).
    const n = Math.max(1, Math.ceil(Math.max(elapsedMs, this.#ticks() * TICK_MS) / width));
    const perTick = width / TICK_MS;
    const samples: number[][] = Array.from({ length: n }, () => []);
    this.#times.forEach((t, i) => {
      samples[Math.min(n - 1, Math.floor(t / width))]?.push(this.#latencies[i] as number);
    });
    const sum = (counts: number[], b: number) => counts.slice(b * perTick, (b + 1) * perTick).reduce((a, c) => a + c, 0);
    const buckets = samples.map((lat, b) => {
      lat.sort((x, y) => x - y);
      const pick = (p: number) =>
        lat.length === 0 ? null : round3(lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] as number);
      return {
        tMs: b * width,
        succeeded: sum(this.#ok, b),
        failed: sum(this.#failed, b),
        p50Ms: pick(50),
        p99Ms: pick(99),
        maxMs: pick(100),
      };
    });
    return { bucketMs: width, buckets };
  }

  #ticks(): number {
    return Math.max(this.#ok.length, this.#failed.length);
  }
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
