/**
 * The worker section's CPU-bound plugin: each exec does a fixed amount of integer work (an FNV-1a
 * style loop of `iterations` steps, default 2,000,000: a few ms of one core) and answers with the
 * hash. Fixed work, not a timed spin, so that throughput counts work done, not wall time waited.
 *
 * NOTE: the hash starts as an int32 (`| 0`): started as the double 2166136261 (above 2^31), the
 * loop's speed depended on where V8 inlined exec: on worker threads it deoptimised on every call
 * ("insufficient type feedback for binary operation"), so the bench measured the JIT's luck rather
 * than the isolation (BENCHMARKS.md, method of the worker section).
 */
import { defineWrapper } from 'aiges-ts';

export default defineWrapper({
  id: 'cpu',
  schema: {
    input: { data: { type: 'other' } },
    output: { data: { type: 'other' } },
    params: { iterations: { type: 'integer', minimum: 1, default: 2_000_000 } },
  },
  exec(request) {
    const n = Number(request.params['iterations']);
    let h = 2166136261 | 0;
    for (let i = 0; i < n; i++) {
      h ^= i & 0xff;
      h = Math.imul(h, 16777619);
    }
    return [{ key: 'data', data: String(h >>> 0) }];
  },
});
