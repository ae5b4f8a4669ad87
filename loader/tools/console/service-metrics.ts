/**
 * Per-service call figures for the console: every `intervalMs` it scrapes each live instance's
 * `/metrics` (server-side; the page never talks to a loader), takes the increase of
 * `aiges_requests_total` (by code) and `aiges_request_duration_seconds` (once calls) since the
 * last scrape of that instance, and sums them by service into one point: calls/s, errors by code,
 * p50 and p99. Points are kept for `windowMs`; `summary` folds the whole window into one figure.
 *
 * An instance's first scrape is its baseline (nothing is counted for it); a counter that went down
 * (the loader restarted under the same id) counts from zero again.
 */
import type { InstanceRecord } from '../../../polaris/store/types.js';
import { parseSamples, quantile } from './prom-text.js';

export interface Point {
  /** Epoch ms of the scrape. */
  t: number;
  callsPerS: number;
  /** Calls that ended with a non-zero code in the interval, by aiges code. */
  errors: Record<string, number>;
  /** Seconds; null when no once call ended in the interval. */
  p50: number | null;
  p99: number | null;
}

export interface Summary {
  windowS: number;
  calls: number;
  callsPerS: number;
  errors: Record<string, number>;
  p50: number | null;
  p99: number | null;
}

/** What one scrape of one instance gives, cumulative: calls by service and code; once latency buckets by service. */
interface Cumulative {
  calls: Map<string, Map<string, number>>;
  buckets: Map<string, Map<number, number>>;
}

/** The increase over one interval, by service. */
interface Increase {
  calls: Map<string, number>;
  errors: Record<string, number>;
  buckets: Map<number, number>;
}

export interface ServiceMetricsOptions {
  /** The instances to scrape now. */
  instances: () => readonly InstanceRecord[];
  /** The text of an instance's /metrics (throws when it does not answer). */
  scrape: (record: InstanceRecord) => Promise<string>;
  intervalMs?: number;
  windowMs?: number;
}

export const DEFAULT_SCRAPE_INTERVAL_MS = 2_000;
const DEFAULT_WINDOW_MS = 10 * 60_000;

function read(text: string): Cumulative {
  const calls = new Map<string, Map<string, number>>();
  const buckets = new Map<string, Map<number, number>>();
  const wanted = (n: string) => n === 'aiges_requests_total' || n === 'aiges_request_duration_seconds_bucket';
  for (const s of parseSamples(text, wanted)) {
    const service = s.labels['service'] ?? '';
    if (s.name === 'aiges_requests_total') {
      const byCode = calls.get(service) ?? new Map<string, number>();
      const code = s.labels['code'] ?? '0';
      byCode.set(code, (byCode.get(code) ?? 0) + s.value);
      calls.set(service, byCode);
    } else if (s.labels['mode'] === 'once') {
      const le = s.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels['le']);
      const byLe = buckets.get(service) ?? new Map<number, number>();
      byLe.set(le, s.value);
      buckets.set(service, byLe);
    }
  }
  return { calls, buckets };
}

/** now − before, key by key; a key that went down counts from zero (a restart). */
function minus<K>(now: ReadonlyMap<K, number>, before: ReadonlyMap<K, number> | undefined): Map<K, number> {
  const out = new Map<K, number>();
  for (const [k, v] of now) {
    const prev = before?.get(k) ?? 0;
    out.set(k, v >= prev ? v - prev : v);
  }
  return out;
}

function addInto<K>(into: Map<K, number>, from: ReadonlyMap<K, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

export class ServiceMetrics {
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly #last = new Map<string, Cumulative>();
  readonly #points = new Map<string, { point: Point; buckets: Map<number, number>; calls: number }[]>();
  readonly #listeners = new Set<(service: string, point: Point, summary: Summary) => void>();
  #timer: NodeJS.Timeout | undefined;
  #lastTick = Date.now();

  constructor(private readonly options: ServiceMetricsOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  }

  start(): void {
    this.#lastTick = Date.now();
    this.#timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#listeners.clear();
  }

  /** Hears each new point of a service with its window summary; returns a function that unsubscribes. */
  onPoint(listener: (service: string, point: Point, summary: Summary) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  services(): string[] {
    return [...this.#points.keys()].sort();
  }

  points(service: string): Point[] {
    return (this.#points.get(service) ?? []).map((p) => p.point);
  }

  summary(service: string): Summary {
    const kept = this.#points.get(service) ?? [];
    const buckets = new Map<number, number>();
    const errors: Record<string, number> = {};
    let calls = 0;
    for (const p of kept) {
      addInto(buckets, p.buckets);
      calls += p.calls;
      for (const [code, n] of Object.entries(p.point.errors)) errors[code] = (errors[code] ?? 0) + n;
    }
    const windowS = kept.length === 0 ? 0 : (kept.length * this.intervalMs) / 1000;
    return {
      windowS,
      calls,
      callsPerS: windowS === 0 ? 0 : calls / windowS,
      errors,
      p50: quantile(buckets, 0.5),
      p99: quantile(buckets, 0.99),
    };
  }

  /** One scrape of every instance, folded into one point per service. Exposed for tests. */
  async tick(): Promise<void> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.#lastTick) / 1000);
    this.#lastTick = now;
    const instances = this.options.instances();
    const scraped = await Promise.all(
      instances.map(async (r) => ({ id: r.id, service: r.service, text: await this.options.scrape(r).catch(() => undefined) })),
    );
    const increases = new Map<string, Increase>();
    const empty = (): Increase => ({ calls: new Map(), errors: {}, buckets: new Map() });
    for (const s of instances) if (!increases.has(s.service)) increases.set(s.service, empty());
    const live = new Set<string>();
    for (const { id, text } of scraped) {
      live.add(id);
      if (text === undefined) continue;
      const now = read(text);
      const before = this.#last.get(id);
      this.#last.set(id, now);
      if (before === undefined) continue;
      for (const [service, byCode] of now.calls) {
        const inc = increases.get(service) ?? empty();
        increases.set(service, inc);
        const delta = minus(byCode, before.calls.get(service));
        addInto(inc.calls, delta);
        for (const [code, n] of delta) if (code !== '0' && n > 0) inc.errors[code] = (inc.errors[code] ?? 0) + n;
      }
      for (const [service, byLe] of now.buckets) {
        const inc = increases.get(service);
        if (inc !== undefined) addInto(inc.buckets, minus(byLe, before.buckets.get(service)));
      }
    }
    for (const id of this.#last.keys()) if (!live.has(id)) this.#last.delete(id);
    for (const [service, inc] of increases) {
      const calls = [...inc.calls.values()].reduce((a, b) => a + b, 0);
      const point: Point = {
        t: now,
        callsPerS: calls / seconds,
        errors: inc.errors,
        p50: quantile(inc.buckets, 0.5),
        p99: quantile(inc.buckets, 0.99),
      };
      const kept = this.#points.get(service) ?? [];
      kept.push({ point, buckets: inc.buckets, calls });
      while (kept.length > 0 && (kept[0]?.point.t ?? now) < now - this.windowMs) kept.shift();
      this.#points.set(service, kept);
      const summary = this.summary(service);
      for (const listener of this.#listeners) listener(service, point, summary);
    }
  }
}
