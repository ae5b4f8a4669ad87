/**
 * Prometheus metrics of one loader, in a registry of its own (several loaders can live in one
 * process, as they do in tests).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type CallMode = 'once' | 'session';

export class LoaderMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'service' | 'mode' | 'code'>;
  readonly duration: Histogram<'service' | 'mode'>;
  readonly inflight: Gauge<'service'>;
  readonly sessions: Gauge<'service'>;
  readonly capacity: Gauge;
  readonly sessionFrames: Counter<'service' | 'direction'>;
  readonly meter: Counter<'service' | 'key'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'aiges_requests_total',
      help: 'Calls finished, by service, mode (once|session) and result code (0 = success).',
      labelNames: ['service', 'mode', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'aiges_request_duration_seconds',
      help: 'Call latency: once calls from admission to response; sessions from open to close.',
      labelNames: ['service', 'mode'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.inflight = new Gauge({
      name: 'aiges_inflight_requests',
      help: 'Once calls in progress.',
      labelNames: ['service'],
      registers,
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
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'aiges_' });
  }
}
