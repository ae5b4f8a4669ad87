/**
 * Unit-test helpers for the data plane: a Dataplane over one in-memory plugin instance, with its
 * metrics exposed (the SDK harness hides them), and a gate a test opens on an event.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { type BatchingConfig, ConfigSchema, execConcurrency } from '../../loader/config/schema.js';
import type { Cancellable, CallOptions } from '../../loader/dataplane/call.js';
import type { Dataplane, DataplaneLimits } from '../../loader/dataplane/dataplane.js';
import { ResultBuffer } from '../../loader/dataplane/results.js';
import type { Session } from '../../loader/dataplane/session.js';
import type { LoaderMetrics } from '../../loader/metrics.js';
import { createPlane } from '../../loader/plane.js';
import type { PluginInstance } from '../../loader/plugin/instance.js';
import type { PluginRegistry } from '../../loader/plugin/registry.js';
import type { SessionResult, Wrapper, WrapperDefinition } from '../../plugins/types.js';

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
    /** `[server]` keys (expose_plugin_errors). */
    server?: Record<string, unknown>;
    /** `[plugin.batching]` keys. */
    batching?: BatchingConfig;
  } = {},
): Promise<Plane> {
  const log = options.log ?? pino({ level: 'silent' });
  const config = ConfigSchema.parse({
    server: options.server ?? {},
    limits: options.limits ?? {},
    plugin: { concurrency: options.concurrency ?? 0 },
  });
  const { metrics, registry, dataplane } = createPlane(config, log);
  const instance = await registry.loadWrapper(wrapper as Wrapper, {
    config: options.config ?? {},
    concurrency: execConcurrency(config),
    initTimeoutMs: 5_000,
    batching: options.batching,
  });
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

/** Starts a session's results into a buffer the test iterates (or takes from), as an adapter would. */
export function readResults(session: Session): ResultBuffer {
  const results = new ResultBuffer();
  results.onResume(() => session.resume());
  session.start(results);
  return results;
}

/** Reads every result; resolves with them, or rejects with what ended the session. */
export function collect(session: Session): Promise<SessionResult[]> {
  let results: ResultBuffer;
  try {
    results = readResults(session);
  } catch (err) {
    return Promise.reject(err);
  }
  const all: SessionResult[] = [];
  const p = (async () => {
    for await (const r of results) all.push(r);
    return all;
  })();
  p.catch(() => undefined);
  return p;
}

/** A client as the data plane sees it: pass `options` with a call, `cancel()` when it goes away. */
export function client(): { options: CallOptions; cancel(): void } {
  let target: Cancellable | undefined;
  let cancelled = false;
  return {
    options: {
      onCancel: (call) => {
        target = call;
        if (cancelled) call.cancel();
      },
    },
    cancel: () => {
      cancelled = true;
      target?.cancel();
    },
  };
}

/** A logger whose lines are kept, parsed, in `lines` (level info). */
export function capturingLogger(): { lines: Record<string, unknown>[]; log: Logger } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, sink) };
}
