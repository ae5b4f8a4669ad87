/**
 * A Prometheus histogram that a call fills with plain array increments and prom-client's registry
 * reads at scrape time (it implements the registry's metric interface: name, help, type, get, reset).
 *
 * NOTE: prom-client's own Histogram validates and hashes the label set on every observe, even
 * through a child bound once with `labels()`: about a microsecond per call on the hot path. Here a
 * series is looked up once per label set and an observe is a bucket search and three increments.
 * The exposition (cumulative `_bucket` lines with `le`, `_sum`, `_count`) is prom-client's, from
 * the values `get()` returns.
 */
import type { Metric, MetricValueWithName, Registry } from 'prom-client';

/** What `get()` returns: prom-client's metric object shape. */
export interface HistogramValues {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: MetricValueWithName<string>[];
}

/** One label set's counts. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly upperBounds: readonly number[],
  ) {
    this.counts = new Float64Array(upperBounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (this.counts[i] as number)++;
    this.sum += value;
    this.count++;
  }
}

export class ScrapeHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly upperBounds: readonly number[],
    registers: readonly Registry[],
  ) {
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one label set, in `labelNames` order (made on first use; keep it). */
  series(...values: string[]): HistogramSeries {
    const key = values.join('\0');
    let series = this.#series.get(key);
    if (series === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => {
        labels[name] = values[i] ?? '';
      });
      series = new HistogramSeries(labels, this.upperBounds);
      this.#series.set(key, series);
    }
    return series;
  }

  async get(): Promise<HistogramValues> {
    const values: MetricValueWithName<string>[] = [];
    for (const s of this.#series.values()) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...s.labels }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every series (prom-client's Registry.resetMetrics). */
  reset(): void {
    for (const s of this.#series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
