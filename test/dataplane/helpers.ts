/**
 * Unit-test helpers for the data plane: a Dataplane over one in-memory plugin instance, with its
 * metrics exposed (the SDK harness hides them), and a gate a test opens on an event.
 */
import { pino, type Logger } from 'pino';
import { ConfigSchema } from '../../loader/config/schema.js';
import { Dataplane, type DataplaneLimits } from '../../loader/dataplane/dataplane.js';
import { LoaderMetrics } from '../../loader/metrics.js';
import { PluginInstance } from '../../loader/plugin/instance.js';
import { PluginRegistry } from '../../loader/plugin/registry.js';
import type { Wrapper, WrapperDefinition } from '../../plugins/types.js';

export interface Plane {
  dataplane: Dataplane;
  metrics: LoaderMetrics;
  registry: PluginRegistry;
  instance: PluginInstance;
  /** The value of aiges_requests_total for these labels (0 when absent). */
  requests(labels: { service: string; mode: 'once' | 'session'; code: number }): Promise<number>;
}

export async function makePlane(
  wrapper: WrapperDefinition<unknown>,
  options: {
    limits?: Partial<DataplaneLimits>;
    concurrency?: number;
    config?: Record<string, unknown>;
    /** The loader's logger (silent by default). */
    log?: Logger;
  } = {},
): Promise<Plane> {
  const log = options.log ?? pino({ level: 'silent' });
  const limits = { ...ConfigSchema.parse({}).limits, ...options.limits };
  const metrics = new LoaderMetrics({ defaultMetrics: false });
  const registry = new PluginRegistry(log, (service, key, count) => metrics.meter.inc({ service, key }, count));
  const instance = await PluginInstance.create({
    wrapper: wrapper as Wrapper,
    config: options.config ?? {},
    log,
    concurrency: options.concurrency ?? limits.capacity,
    initTimeoutMs: 5_000,
    meter: (service, key, count) => metrics.meter.inc({ service, key }, count),
  });
  registry.put(instance);
  const dataplane = new Dataplane(registry, limits, metrics, log);
  return {
    dataplane,
    metrics,
    registry,
    instance,
    async requests(labels) {
      const metric = await metrics.requests.get();
      const hit = metric.values.find(
        (v) =>
          v.labels['service'] === labels.service && v.labels['mode'] === labels.mode && String(v.labels['code']) === String(labels.code),
      );
      return hit?.value ?? 0;
    },
  };
}

/** A promise a test resolves by hand, plus whether anything is waiting on it. */
export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
