/** The loader's process metrics are computed at scrape time, in the loader's own registry. */
import { describe, expect, it } from 'vitest';
import { LoaderMetrics } from '../../loader/metrics.js';

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  if (m?.[1] === undefined) throw new Error(`${name} not exposed`);
  return Number(m[1]);
}

describe('LoaderMetrics', () => {
  it('exposes process CPU, memory, start time and event-loop delay', async () => {
    const metrics = new LoaderMetrics();
    const text = await metrics.registry.metrics();
    expect(sample(text, 'aiges_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'aiges_process_memory_bytes{kind="rss"}')).toBeGreaterThan(1024 * 1024);
    expect(sample(text, 'aiges_process_memory_bytes{kind="heap_used"}')).toBeGreaterThan(0);
    expect(sample(text, 'aiges_process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
    expect(sample(text, 'aiges_eventloop_delay_seconds{stat="max"}')).toBeGreaterThanOrEqual(0);
  });

  it('leaves them out when asked (several loaders in one process)', async () => {
    const text = await new LoaderMetrics({ defaultMetrics: false }).registry.metrics();
    expect(text).not.toContain('aiges_process_cpu_seconds_total');
    expect(text).toContain('aiges_requests_total');
  });
});
