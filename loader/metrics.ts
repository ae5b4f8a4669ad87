/**
 * Prometheus metrics of one loader, in a registry of its own (several loaders can live in one
 * process, as they do in tests).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import { ScrapeHistogram, type HistogramSeries } from './metrics-histogram.js';

export type CallMode = 'once' | 'session';

/** Calls of one service in one mode: how many ended with each code, and their latencies. */
interface ModeCounts {
  byCode: Map<number, number>;
  latency: HistogramSeries;
}

export class LoaderMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'service' | 'mode' | 'code'>;
  readonly duration: ScrapeHistogram;
  readonly inflight: Gauge<'service'>;
  readonly sessions: Gauge<'service'>;
  readonly capacity: Gauge;
  readonly sessionFrames: Counter<'service' | 'direction'>;
  readonly meter: Counter<'service' | 'key'>;

  /**
   * NOTE: a call's metrics are plain counts kept per service, mode and code, and copied into
   * `requests` at scrape time; its latency goes into a ScrapeHistogram series found once. prom-client
   * hashes a label set on every inc or observe, even through a bound child (a few µs per call).
   */
  readonly #calls = new Map<string, Partial<Record<CallMode, ModeCounts>>>();
  readonly #inflightCounters = new Map<string, { n: number; inc(): void; dec(): void }>();

  /** A call of `mode` to `service` ended with `code` after `seconds`. */
  callEnded(service: string, mode: CallMode, code: number, seconds: number): void {
    let modes = this.#calls.get(service);
    if (modes === undefined) {
      modes = {};
      this.#calls.set(service, modes);
    }
    let counts = modes[mode];
    if (counts === undefined) {
      counts = { byCode: new Map(), latency: this.duration.series(service, mode) };
      modes[mode] = counts;
    }
    counts.byCode.set(code, (counts.byCode.get(code) ?? 0) + 1);
    counts.latency.observe(seconds);
  }

  /**
   * The in-flight count of `service`'s once calls: a plain counter per call, copied into the
   * gauge when it is read (a scrape), not a labelled gauge write twice per call.
   */
  inflightOf(service: string): { inc(): void; dec(): void } {
    let counter = this.#inflightCounters.get(service);
    if (counter === undefined) {
      const c = { n: 0, inc: () => void c.n++, dec: () => void c.n-- };
      counter = c;
      this.#inflightCounters.set(service, c);
    }
    return counter;
  }

  readonly #frameCounters = new Map<string, (direction: 'in' | 'out') => void>();

  /** Counts a session message of `service` in a direction (one bound child per direction). */
  framesOf(service: string): (direction: 'in' | 'out') => void {
    let count = this.#frameCounters.get(service);
    if (count === undefined) {
      const inbound = this.sessionFrames.labels(service, 'in');
      const outbound = this.sessionFrames.labels(service, 'out');
      count = (direction) => (direction === 'in' ? inbound : outbound).inc();
      this.#frameCounters.set(service, count);
    }
    return count;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const calls = this.#calls;
    this.requests = new Counter({
      name: 'aiges_requests_total',
      help: 'Calls finished, by service, mode (once|session) and result code (0 = success).',
      labelNames: ['service', 'mode', 'code'],
      registers,
      collect() {
        this.reset();
        for (const [service, modes] of calls) {
          for (const mode of ['once', 'session'] as const) {
            for (const [code, n] of modes[mode]?.byCode ?? []) this.inc({ service, mode, code: String(code) }, n);
          }
        }
      },
    });
    this.duration = new ScrapeHistogram(
      'aiges_request_duration_seconds',
      'Call latency: once calls from admission to response; sessions from open to close.',
      ['service', 'mode'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    );
    const inflightCounters = this.#inflightCounters;
    this.inflight = new Gauge({
      name: 'aiges_inflight_requests',
      help: 'Once calls in progress.',
      labelNames: ['service'],
      registers,
      collect() {
        for (const [service, counter] of inflightCounters) this.set({ service }, counter.n);
      },
    });
    this.sessions = new Gauge({
      name: 'aiges_open_sessions',
      help: 'Sessions open.',
      labelNames: ['service'],
      registers,
    });
    this.capacity = new Gauge({
      name: 'aiges_capacity',
      help: 'Once calls plus sessions this loader admits at a time (AIGes licences).',
      registers,
    });
    this.sessionFrames = new Counter({
      name: 'aiges_session_frames_total',
      help: 'Session messages, by direction (in|out).',
      labelNames: ['service', 'direction'],
      registers,
    });
    this.meter = new Counter({
      name: 'aiges_plugin_meter_total',
      help: 'Custom meters counted by plugins (ctx.meter).',
      labelNames: ['service', 'key'],
      registers,
    });
    if (options.defaultMetrics !== false) registerProcessMetrics(this.registry);
  }
}

/**
 * Process metrics, computed when scraped. NOTE: not prom-client's collectDefaultMetrics: its GC
 * metric observes every garbage collection from JS, which cost the loader up to a third of its CPU
 * per call under load with 64 KiB payloads (measured with `npm run bench`, see BENCHMARKS.md).
 */
function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const started = Date.now() / 1000 - process.uptime();
  new Gauge({
    name: 'aiges_process_cpu_seconds_total',
    help: 'User plus system CPU time of the loader process, in seconds.',
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.set((user + system) / 1e6);
    },
  });
  new Gauge({
    name: 'aiges_process_start_time_seconds',
    help: 'Start time of the loader process, seconds since the Unix epoch.',
    registers,
    collect() {
      this.set(started);
    },
  });
  new Gauge({
    name: 'aiges_process_memory_bytes',
    help: 'Memory of the loader process: rss, heap_total, heap_used, external, array_buffers.',
    labelNames: ['kind'],
    registers,
    collect() {
      const m = process.memoryUsage();
      this.set({ kind: 'rss' }, m.rss);
      this.set({ kind: 'heap_total' }, m.heapTotal);
      this.set({ kind: 'heap_used' }, m.heapUsed);
      this.set({ kind: 'external' }, m.external);
      this.set({ kind: 'array_buffers' }, m.arrayBuffers);
    },
  });
  new Gauge({
    name: 'aiges_eventloop_delay_seconds',
    help: 'Event loop delay since the last scrape (20 ms resolution), by statistic: p50, p99, max.',
    labelNames: ['stat'],
    registers,
    collect() {
      this.set({ stat: 'p50' }, lag.percentile(50) / 1e9);
      this.set({ stat: 'p99' }, lag.percentile(99) / 1e9);
      this.set({ stat: 'max' }, lag.max / 1e9);
      lag.reset();
    },
  });
}
