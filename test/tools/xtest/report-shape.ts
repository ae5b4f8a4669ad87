/** The JSON report's documented shape (docs/xtest.md), checked by the CLI and docs tests. */

/**
 * Checks a JSON value against a shape: a leaf is a type name, or names joined by '|'
 * ('number|null'); an array shape `[element]` checks every element; an object shape checks that
 * the keys are exactly these. Returns the paths that do not match.
 */
export function mismatches(value: unknown, shape: unknown, path = '$'): string[] {
  if (typeof shape === 'string') {
    const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    return shape.split('|').includes(type) ? [] : [`${path}: ${type}, expected ${shape}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${path}: expected an array`];
    return value.flatMap((v, i) => mismatches(v, shape[0], `${path}[${i}]`));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object`];
  const want = shape as Record<string, unknown>;
  const keys = Object.keys(value);
  if (keys.join() !== Object.keys(want).join()) return [`${path}: keys ${keys.join()}, expected ${Object.keys(want).join()}`];
  return keys.flatMap((k) => mismatches((value as Record<string, unknown>)[k], want[k], `${path}.${k}`));
}

export const N = 'number';
export const LATENCY = { count: N, min: N, mean: N, p50: N, p90: N, p95: N, p99: N, max: N };

/** The report's shape (docs/xtest.md) in once mode with --pid; in session mode `session` is SESSION_SHAPE. */
export const REPORT_SHAPE = {
  schemaVersion: N,
  target: { protocol: 'string', address: 'string', service: 'string' },
  mode: 'string',
  concurrency: N,
  rampUpMs: N,
  limit: { requests: 'number|null', durationMs: 'number|null' },
  inputs: { text: N },
  startedAt: 'string',
  elapsedMs: N,
  stoppedEarly: 'boolean',
  requests: { total: N, succeeded: N, failed: N },
  throughput: { requestsPerS: N, succeededPerS: N },
  errors: [{ code: 'string', count: N, message: 'string' }],
  latencyMs: LATENCY,
  session: 'null',
  process: {
    pid: N,
    samples: [{ tMs: N, cpuPercent: 'number|null', rssBytes: N }],
    cpuPercent: { mean: N, max: N },
    rssBytes: { min: N, max: N, last: N },
    exited: 'boolean',
  },
  timeline: {
    bucketMs: N,
    buckets: [{ tMs: N, succeeded: N, failed: N, p50Ms: 'number|null', p99Ms: 'number|null', maxMs: 'number|null' }],
  },
};

export const SESSION_SHAPE = { frameBytes: 'number|null', frameIntervalMs: N, firstResultMs: LATENCY, lastResultMs: LATENCY };
