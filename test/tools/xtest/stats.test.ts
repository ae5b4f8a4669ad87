/** Unit tests of what a run counts: latency histograms, the error distribution, the timeline. */
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../loader/tools/xtest/latency.js';
import { Recorder } from '../../../loader/tools/xtest/stats.js';
import { Timeline } from '../../../loader/tools/xtest/timeline.js';

describe('LatencyHistogram', () => {
  it('summarises recorded milliseconds with HDR precision', () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 100; ms++) h.record(ms);
    const s = h.summary();
    h.destroy();
    expect(s.count).toBe(100);
    expect(s.min).toBe(1);
    // 3 significant digits: each value is within 0.1% of the exact order statistic.
    expect(s.p50).toBeCloseTo(50, 1);
    expect(s.p90).toBeCloseTo(90, 1);
    expect(s.p95).toBeCloseTo(95, 1);
    expect(s.p99).toBeCloseTo(99, 1);
    expect(s.max).toBeCloseTo(100, 1);
    expect(s.mean).toBeCloseTo(50.5, 1);
  });

  it('reports nulls, not zeros, when nothing was recorded', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ count: 0, min: null, mean: null, p50: null, p90: null, p95: null, p99: null, max: null });
    h.destroy();
  });

  it('keeps sub-microsecond latencies as 1 µs', () => {
    const h = new LatencyHistogram();
    h.record(0);
    expect(h.summary().min).toBe(0.001);
    h.destroy();
  });
});

describe('Recorder', () => {
  it('counts outcomes and orders the error distribution by count, then code', () => {
    const r = new Recorder();
    const fail = (code: string, message = `m${code}`) => r.record(1, 5, { ok: false, code, message });
    fail('10909', 'first');
    fail('10909', 'second');
    fail('net:ECONNREFUSED');
    fail('10107');
    fail('10107');
    r.record(2, 3, { ok: true });
    expect(r.totals).toEqual({ total: 6, succeeded: 1, failed: 5 });
    const t = r.finish(10);
    expect(t.errors).toEqual([
      { code: '10107', count: 2, message: 'm10107' },
      { code: '10909', count: 2, message: 'first' },
      { code: 'net:ECONNREFUSED', count: 1, message: 'mnet:ECONNREFUSED' },
    ]);
    // Failures stay out of the latency histogram.
    expect(t.latency.count).toBe(1);
    expect(t.latency.max).toBe(3);
  });

  it('records first- and last-result latencies of sessions', () => {
    const r = new Recorder();
    r.record(10, 30, { ok: true, firstResultMs: 4, lastResultMs: 2 });
    r.record(20, 40, { ok: true, firstResultMs: 6, lastResultMs: 3 });
    const t = r.finish(20);
    expect([t.firstResult.count, t.firstResult.min, t.firstResult.max]).toEqual([2, 4, 6]);
    expect([t.lastResult.count, t.lastResult.min, t.lastResult.max]).toEqual([2, 2, 3]);
  });
});

describe('Timeline', () => {
  it('cuts a run into round buckets with exact counts and sampled latencies', () => {
    const t = new Timeline();
    // 1.2 s: 20 ms buckets, the narrowest round width that needs at most 60 buckets.
    for (let i = 0; i < 120; i++) t.record(i * 10, i % 10 === 9 ? undefined : i);
    const r = t.report(1200);
    expect(r.bucketMs).toBe(20);
    expect(r.buckets).toHaveLength(60);
    expect(r.buckets.reduce((a, b) => a + b.succeeded, 0)).toBe(108);
    expect(r.buckets.reduce((a, b) => a + b.failed, 0)).toBe(12);
    expect(r.buckets[0]).toEqual({ tMs: 0, succeeded: 2, failed: 0, p50Ms: 0, p99Ms: 1, maxMs: 1 });
    expect(r.buckets[4]).toEqual({ tMs: 80, succeeded: 1, failed: 1, p50Ms: 8, p99Ms: 8, maxMs: 8 });
  });

  it('gives buckets without successes null latencies', () => {
    const t = new Timeline();
    t.record(5, undefined);
    const r = t.report(5);
    expect(r.buckets).toEqual([{ tMs: 0, succeeded: 0, failed: 1, p50Ms: null, p99Ms: null, maxMs: null }]);
  });

  it('covers calls that end after the elapsed time it is given', () => {
    const t = new Timeline();
    t.record(250, 1);
    const r = t.report(100);
    expect(r.buckets.reduce((a, b) => a + b.succeeded, 0)).toBe(1);
  });
});
