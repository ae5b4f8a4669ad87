/**
 * Per-model statistics in the shape of Triton's statistics extension, from the loader's call
 * counts (metrics.ts): once calls only (a session is not an inference of its own), durations in
 * nanoseconds. An execution is one successful exec: one per unbatched call, one per batch run
 * (dynamic batching) that answered its calls. Triton's queue and compute
 * breakdowns are not measured separately and are left out.
 */
import type { ServiceStats } from '../metrics.js';

export interface ModelStatistics {
  name: string;
  version: string;
  /** Epoch ms of the last call that ended (0: none yet). */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: { success: { count: number; ns: number }; fail: { count: number; ns: number } };
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
    inference_stats: { success: { count: ok, ns: ns(seconds.ok) }, fail: { count: failed, ns: ns(seconds.fail) } },
  };
}
