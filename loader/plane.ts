/**
 * The serving core without servers: a plugin registry and the data plane in front of it, assembled
 * one way for `aiges serve` (loader.ts), `aiges check` and the SDK's test harness.
 */
import { execConcurrency, exposePluginErrors, type LoaderConfig } from './config/schema.js';
import { Dataplane } from './dataplane/dataplane.js';
import { PluginFaults } from './faults.js';
import type { Logger } from './log.js';
import { LoaderMetrics } from './metrics.js';
import { GrpcRemote } from './pipes/remote-grpc.js';
import { pipeOptions } from './pipes/remote-options.js';
import { type LoadOptions, PluginRegistry } from './plugin/registry.js';

export interface Plane {
  readonly log: Logger;
  readonly metrics: LoaderMetrics;
  readonly registry: PluginRegistry;
  readonly dataplane: Dataplane;
  readonly faults: PluginFaults;
  /** Plugins' `ctx.infer` calls to other loaders; close it with the plane. */
  readonly remote: GrpcRemote;
}

export function createPlane(config: Readonly<LoaderConfig>, log: Logger, metrics = new LoaderMetrics({ defaultMetrics: false })): Plane {
  const faults = new PluginFaults(log, (service, kind) => metrics.pluginFaults.inc({ service, kind }));
  const registry = new PluginRegistry(
    log,
    (service, key, count) => metrics.meter.inc({ service, key }, count),
    faults,
    (service) => metrics.crashes.inc({ service }),
  );
  const dataplane = new Dataplane(registry, config.limits, metrics, log, { exposePluginErrors: exposePluginErrors(config) });
  const remote = new GrpcRemote(pipeOptions(config.pipes));
  dataplane.pipes.remote = remote;
  return { log, metrics, registry, dataplane, faults, remote };
}

/** How a config's plugin is loaded: its path and kind, its sections, its resolved concurrency. */
export function loadOptions(config: Readonly<LoaderConfig>): LoadOptions {
  const { path, kind, init_timeout_ms } = config.plugin;
  if (path === undefined)
    throw new Error('no plugin to serve: give a plugin path (aiges serve <plugin>) or a model repository (--model-repository DIR)');
  return {
    path,
    kind,
    plugin: config.plugin,
    aiges: config.aiges,
    config: config.wrapper,
    concurrency: execConcurrency(config),
    initTimeoutMs: init_timeout_ms,
    batching: config.plugin.batching,
  };
}
