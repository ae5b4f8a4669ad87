import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { ScrapeHistogram } from '../../loader/metrics-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('ScrapeHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({
      name: 'h_seconds',
      help: 'help text',
      labelNames: ['service', 'mode'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const scrape = new ScrapeHistogram('h_seconds', 'help text', ['service', 'mode'], BUCKETS, [ours]);
    const observations: [string, string, number][] = [
      ['echo', 'once', 0.0004],
      ['echo', 'once', 0.001], // on a bound: counted in that bucket (le is inclusive)
      ['echo', 'once', 0.05],
      ['echo', 'session', 3],
      ['iris', 'once', 0.2],
      ['echo', 'once', 7.5],
    ];
    for (const [service, mode, v] of observations) {
      reference.observe({ service, mode }, v);
      scrape.series(service, mode).observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // JSON too, but for prom-client's exemplar slots (null or undefined there, absent here).
    const plain = async (r: Registry) =>
      (await r.getMetricsAsJSON()).map((m) => ({
        ...m,
        values: m.values.map((v) => ({ value: v.value, labels: v.labels, metricName: (v as { metricName?: string }).metricName })),
      }));
    expect(await plain(ours)).toEqual(await plain(theirs));
  });

  it('one series per label set, found again by the same values; reset zeroes them', async () => {
    const registry = new Registry();
    const h = new ScrapeHistogram('x_seconds', 'x', ['service'], BUCKETS, [registry]);
    expect(h.series('a')).toBe(h.series('a'));
    expect(h.series('a')).not.toBe(h.series('b'));
    h.series('a').observe(0.5);
    registry.resetMetrics();
    const text = await registry.metrics();
    expect(text).toContain('x_seconds_count{service="a"} 0');
    expect(text).toContain('x_seconds_bucket{le="+Inf",service="a"} 0');
  });
});
