/**
 * The console's call figures (unit tier): the samples it reads of a loader's /metrics, quantiles
 * from histogram buckets, and per-service points from the increase between scrapes.
 */
import { describe, expect, it } from 'vitest';
import { parseSamples, quantile } from '../../../loader/tools/console/prom-text.js';
import { type Point, ServiceMetrics } from '../../../loader/tools/console/service-metrics.js';
import { LoaderMetrics } from '../../../loader/metrics.js';
import type { InstanceRecord } from '../../../polaris/store/types.js';

const record = (id: string, service = 'echo'): InstanceRecord => ({
  id,
  service,
  version: '1',
  address: '127.0.0.1:1',
  httpAddress: '127.0.0.1:2',
  protocols: ['grpc'],
  capacity: 8,
  labels: {},
  startedAt: new Date().toISOString(),
});

describe('prom-text', () => {
  it('reads the samples prom-client writes, labels unescaped', () => {
    const text = [
      '# HELP aiges_requests_total Calls finished.',
      '# TYPE aiges_requests_total counter',
      'aiges_requests_total{service="echo",mode="once",code="0"} 12',
      'aiges_requests_total{service="a\\"b",mode="once",code="10110"} 3',
      'aiges_capacity 64',
    ].join('\n');
    expect(parseSamples(text)).toEqual([
      { name: 'aiges_requests_total', labels: { service: 'echo', mode: 'once', code: '0' }, value: 12 },
      { name: 'aiges_requests_total', labels: { service: 'a"b', mode: 'once', code: '10110' }, value: 3 },
      { name: 'aiges_capacity', labels: {}, value: 64 },
    ]);
    expect(parseSamples(text, (n) => n === 'aiges_capacity')).toHaveLength(1);
  });

  it('interpolates quantiles inside buckets as histogram_quantile does', () => {
    const buckets = new Map([
      [0.01, 50],
      [0.1, 90],
      [1, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    expect(quantile(buckets, 0.5)).toBeCloseTo(0.01);
    expect(quantile(buckets, 0.7)).toBeCloseTo(0.01 + 0.09 * (20 / 40));
    expect(quantile(buckets, 0.99)).toBeCloseTo(0.1 + 0.9 * (9 / 10));
    expect(quantile(new Map([[Number.POSITIVE_INFINITY, 0]]), 0.5)).toBeNull();
    expect(
      quantile(
        new Map([
          [0.5, 1],
          [Number.POSITIVE_INFINITY, 10],
        ]),
        0.99,
      ),
    ).toBe(0.5);
  });
});

describe('ServiceMetrics', () => {
  it("folds the increase of every instance's counters since its last scrape into one point per service", async () => {
    // Real loader registries, so the figures are read from what a loader really exposes.
    const a = new LoaderMetrics({ defaultMetrics: false });
    const b = new LoaderMetrics({ defaultMetrics: false });
    const registries = new Map([
      ['a', a],
      ['b', b],
    ]);
    const metrics = new ServiceMetrics({
      instances: () => [record('a'), record('b')],
      scrape: async (r) => (registries.get(r.id) as LoaderMetrics).registry.metrics(),
      intervalMs: 1_000,
    });
    const points: Point[] = [];
    metrics.onPoint((_service, point) => points.push(point));
    a.of('echo').ended('once', 0, 0.002);
    await metrics.tick(); // baseline: nothing counted yet
    for (let i = 0; i < 30; i++) a.of('echo').ended('once', 0, 0.004);
    for (let i = 0; i < 10; i++) b.of('echo').ended('once', 0, 0.2);
    b.of('echo').ended('once', 10110, 0.0001);
    b.of('echo').ended('once', 10110, 0.0001);
    await metrics.tick();
    const last = points.at(-1) as Point;
    expect(last.errors).toEqual({ '10110': 2 });
    expect(last.callsPerS).toBeGreaterThan(0);
    expect(last.p50).toBeGreaterThan(0.0025);
    expect(last.p50).toBeLessThanOrEqual(0.005);
    expect(last.p99).toBeGreaterThan(0.1);
    const summary = metrics.summary('echo');
    expect(summary.calls).toBe(42);
    expect(metrics.services()).toEqual(['echo']);
  });
});
