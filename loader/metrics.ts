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
  /** Seconds spent by the calls that succeeded, and by those that failed. */
  okSeconds: number;
  failSeconds: number;
}

/**
 * One service's call counts, kept as plain numbers by the data plane and copied into the Prometheus
 * metrics when they are scraped.
 *
 * NOTE: prom-client hashes a label set on every inc, dec or observe, even through a bound child;
 * a call touches these counts several times, so they stay plain fields and are looked up once per call.
 */
export class ServiceStats {
  /** Once calls admitted and not yet answered. */
  once = 0;
  /** Sessions open. */
  sessions = 0;
  /** Once calls abandoned past the hang grace whose exec still runs. */
  stuck = 0;
  /** Session messages in (client → plugin) and out (results). */
  framesIn = 0;
  framesOut = 0;
  /** Batch runs (dynamic batching): execs that took requests from the batch queue. */
  batches = 0;
  /** Batch runs whose output was cut into their calls' parts, and once calls answered from one. */
  batchesOk = 0;
  batchedOk = 0;
  /** When a call last ended (epoch ms; 0: never). */
  lastEnded = 0;
  /** Once calls' waits for an exec slot, and their plugins' execs: how many, and their seconds. */
  readonly queue = { count: 0, seconds: 0 };
  readonly exec = { count: 0, seconds: 0 };
  readonly #modes: Partial<Record<CallMode, ModeCounts>> = {};

  constructor(
    readonly service: string,
    private readonly duration: ScrapeHistogram,
  ) {}

  /** A call of `mode` ended with `code` (0: success) after `seconds`. */
  ended(mode: CallMode, code: number, seconds: number): void {
    let counts = this.#modes[mode];
    if (counts === undefined) {
      counts = { byCode: new Map(), latency: this.duration.series(this.service, mode), okSeconds: 0, failSeconds: 0 };
      this.#modes[mode] = counts;
    }
    counts.byCode.set(code, (counts.byCode.get(code) ?? 0) + 1);
    counts.latency.observe(seconds);
    if (code === 0) counts.okSeconds += seconds;
    else counts.failSeconds += seconds;
    this.lastEnded = Date.now();
  }

  /** Seconds spent by the calls of `mode` that succeeded, and by those that failed. */
  seconds(mode: CallMode): { ok: number; fail: number } {
    const counts = this.#modes[mode];
    return { ok: counts?.okSeconds ?? 0, fail: counts?.failSeconds ?? 0 };
  }

  /** Calls ended in `mode`, by code. */
  endedByCode(mode: CallMode): ReadonlyMap<number, number> {
    return this.#modes[mode]?.byCode ?? new Map();
  }
}

/** What became of a signed request (`[auth] mode = "aksk"`); `forbidden` counts among `ok`. */
export type AuthResult = 'ok' | 'unauthenticated' | 'forbidden' | 'rate_limited';

/**
 * Requests by access key and result, as plain numbers copied into the metric when scraped. The
 * caller passes only configured access keys, one label for the rest, so the label set is bounded.
 */
export class AuthCounts {
  readonly #byKey = new Map<string, Map<AuthResult, number>>();

  add(accessKey: string, result: AuthResult): void {
    let results = this.#byKey.get(accessKey);
    if (results === undefined) this.#byKey.set(accessKey, (results = new Map()));
    results.set(result, (results.get(result) ?? 0) + 1);
  }

  entries(): Iterable<[string, ReadonlyMap<AuthResult, number>]> {
    return this.#byKey.entries();
  }
}

export class LoaderMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'service' | 'mode' | 'code'>;
  readonly duration: ScrapeHistogram;
  readonly inflight: Gauge<'service'>;
  readonly sessions: Gauge<'service'>;
  readonly capacity: Gauge;
  readonly sessionFrames: Counter<'service' | 'direction'>;
  readonly stuck: Gauge<'service'>;
  readonly meter: Counter<'service' | 'key'>;
  readonly pluginFaults: Counter<'service' | 'kind'>;
  readonly crashes: Counter<'service'>;
  /** Dynamic batching: rows per batch run, and how long each request waited in the batch queue. */
  readonly batchSize: ScrapeHistogram;
  readonly batchQueueDelay: ScrapeHistogram;
  readonly auth = new AuthCounts();
  readonly #services = new Map<string, ServiceStats>();

  /** The counts of `service` (made on first use). */
  of(service: string): ServiceStats {
    let stats = this.#services.get(service);
    if (stats === undefined) {
      stats = new ServiceStats(service, this.duration);
      this.#services.set(service, stats);
    }
    return stats;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const services = this.#services;
    this.requests = new Counter({
      name: 'aiges_requests_total',
      help: 'Calls finished, by service, mode (once|session) and result code (0 = success).',
      labelNames: ['service', 'mode', 'code'],
      registers,
      collect() {
        this.reset();
        for (const [service, stats] of services) {
          for (const mode of ['once', 'session'] as const) {
            for (const [code, n] of stats.endedByCode(mode)) this.inc({ service, mode, code: String(code) }, n);
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
    this.inflight = new Gauge({
      name: 'aiges_inflight_requests',
      help: 'Once calls in progress.',
      labelNames: ['service'],
      registers,
      collect() {
        for (const [service, stats] of services) this.set({ service }, stats.once);
      },
    });
    this.sessions = new Gauge({
      name: 'aiges_open_sessions',
      help: 'Sessions open.',
      labelNames: ['service'],
      registers,
      collect() {
        for (const [service, stats] of services) this.set({ service }, stats.sessions);
      },
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
      collect() {
        this.reset();
        for (const [service, stats] of services) {
          if (stats.framesIn > 0) this.inc({ service, direction: 'in' }, stats.framesIn);
          if (stats.framesOut > 0) this.inc({ service, direction: 'out' }, stats.framesOut);
        }
      },
    });
    this.stuck = new Gauge({
      name: 'aiges_plugin_stuck_calls',
      help: 'Once calls abandoned at their deadline more than limits.hang_grace_ms ago whose exec still runs (holding an exec slot).',
      labelNames: ['service'],
      registers,
      collect() {
        for (const [service, stats] of services) this.set({ service }, stats.stuck);
      },
    });
    this.meter = new Counter({
      name: 'aiges_plugin_meter_total',
      help: 'Custom meters counted by plugins (ctx.meter).',
      labelNames: ['service', 'key'],
      registers,
    });
    this.pluginFaults = new Counter({
      name: 'aiges_plugin_faults_total',
      help:
        'Faults of plugin code outside any call the loader awaits, by kind: unhandled_rejection, uncaught_exception (in the ' +
        'loader process or a worker thread), worker_exit (a worker thread of an isolation = "worker" plugin died).',
      labelNames: ['service', 'kind'],
      registers,
    });
    this.crashes = new Counter({
      name: 'aiges_plugin_crashes_total',
      help: 'Plugin processes that died (a signal, abort, exit, or killed because every exec slot hung), by service ([plugin] isolation = "process").',
      labelNames: ['service'],
      registers,
    });
    this.batchSize = new ScrapeHistogram(
      'aiges_batch_size',
      "Dynamic batching: rows (the sum of the requests' first dimensions) per batch run.",
      ['service'],
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    );
    this.batchQueueDelay = new ScrapeHistogram(
      'aiges_batch_queue_delay_seconds',
      'Dynamic batching: time a request waited in the batch queue before its batch ran.',
      ['service'],
      [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    );
    new Counter({
      name: 'aiges_batches_total',
      help: 'Dynamic batching: batch runs (execs that took requests from the batch queue), by service.',
      labelNames: ['service'],
      registers,
      collect() {
        this.reset();
        for (const [service, stats] of services) if (stats.batches > 0) this.inc({ service }, stats.batches);
      },
    });
    const auth = this.auth;
    new Counter({
      name: 'aiges_auth_requests_total',
      help:
        'Signed requests ([auth] mode = "aksk") by access key (configured keys only; "_unknown" for the rest) and result: ' +
        'ok (signature held; forbidden ones count here too), unauthenticated, forbidden, rate_limited.',
      labelNames: ['access_key', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [access_key, results] of auth.entries()) for (const [result, n] of results) this.inc({ access_key, result }, n);
      },
    });
    if (options.defaultMetrics !== false) registerProcessMetrics(this.registry);
  }
}

/**
 * Process metrics, computed when scraped. NOTE: not prom-client's collectDefaultMetrics: its GC
 * metric observes every garbage collection from JS, a large share of the loader's CPU under load
 * with large payloads (BENCHMARKS.md has the measurement).
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
