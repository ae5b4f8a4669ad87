/**
 * Per-model statistics in the shape of Triton's statistics extension, from the loader's call
 * counts (metrics.ts), for REST (`GET /v2/models[/{m}[/versions/{v}]]/stats`) and gRPC
 * ModelStatistics alike: once calls only (a session is not an inference of its own), durations
 * in nanoseconds. An execution is one successful exec: one per unbatched call, one per batch run
 * (dynamic batching) that answered its calls. `queue` is the wait for an exec slot and
 * `compute_infer` the plugin's exec, of every call that reached its exec; Triton's compute_input
 * and compute_output (tensor copies around the model) are not measured apart from the exec and
 * are left out.
 */
import type { Caller, Dataplane } from '../dataplane/dataplane.js';
import type { ServiceStats } from '../metrics.js';
import type { ModelStatistics as GrpcModelStatistics } from '../../proto/gen/inference/ModelStatistics.js';
import { checkVersion, modelVersion } from './v2-items.js';

export interface ModelStatistics {
  name: string;
  version: string;
  /** Epoch ms of the last call that ended (0: none yet). */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: { success: Duration; fail: Duration; queue: Duration; compute_infer: Duration };
}

/** Triton's StatisticDuration: a count and the total nanoseconds. */
interface Duration {
  count: number;
  ns: number;
}

export function modelStatistics(name: string, version: string, stats: ServiceStats): ModelStatistics {
  let ok = 0;
  let failed = 0;
  for (const [code, count] of stats.endedByCode('once')) {
    if (code === 0) ok += count;
    else failed += count;
  }
  const seconds = stats.seconds('once');
  const ns = (s: number) => Math.round(s * 1e9);
  return {
    name,
    version,
    last_inference: stats.lastEnded,
    inference_count: ok,
    execution_count: ok - stats.batchedOk + stats.batchesOk,
    inference_stats: {
      success: { count: ok, ns: ns(seconds.ok) },
      fail: { count: failed, ns: ns(seconds.fail) },
      queue: { count: stats.queue.count, ns: ns(stats.queue.seconds) },
      compute_infer: { count: stats.exec.count, ns: ns(stats.exec.seconds) },
    },
  };
}

/**
 * The statistics of model `name` (404 for an unknown one or another version), or of every model
 * the caller may call when `name` is empty, as Triton answers a request naming none.
 */
export function statisticsOf(
  dataplane: Pick<Dataplane, 'metadata' | 'serviceNames' | 'statistics'>,
  name: string,
  version: string | undefined,
  caller: Caller | undefined,
): ModelStatistics[] {
  const names = name === '' ? dataplane.serviceNames(caller) : [name];
  return names.map((n) => {
    const meta = dataplane.metadata(n, caller);
    if (name !== '') checkVersion(meta, version);
    return modelStatistics(meta.service, modelVersion(meta), dataplane.statistics(meta.service));
  });
}

/** The gRPC ModelStatistics message of the same figures. */
export function grpcStatistics(s: ModelStatistics): GrpcModelStatistics {
  const { success, fail, queue, compute_infer } = s.inference_stats;
  return {
    name: s.name,
    version: s.version,
    lastInference: s.last_inference,
    inferenceCount: s.inference_count,
    executionCount: s.execution_count,
    inferenceStats: { success, fail, queue, computeInfer: compute_infer },
  };
}
