/**
 * Dynamic batching end to end: concurrent V2 REST calls to a real loader serving a batching
 * tensor model (fixture tensor-batched), in each isolation; each call gets its own rows of the
 * merged run, and /metrics counts the batches.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { startLoader, url } from './http-helpers.js';

const loaders: Loader[] = [];

afterAll(async () => {
  await Promise.all(loaders.map((l) => l.stop()));
});

async function infer(loader: Loader, i: number): Promise<any> {
  const res = await fetch(url(loader, '/v2/models/tensor-batched/infer'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: `call-${i}`,
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 2], data: [i, i + 0.5] },
        { name: 'name', datatype: 'BYTES', shape: [1], data: [`client ${i}`] },
      ],
    }),
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

describe.each(['none', 'worker', 'process'])('V2 REST with dynamic batching, isolation %s', (isolation) => {
  it('8 concurrent calls run as 2 batches of 4; each call gets its own rows back', async () => {
    // A queue delay far longer than the test: only full batches (4 rows) run.
    const loader = await startLoader({
      plugin: { path: 'test/fixtures/plugins/tensor-batched.ts', isolation, batching: { max_queue_delay_ms: 600_000 } },
    });
    loaders.push(loader);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => infer(loader, i)));
    for (const [i, answer] of answers.entries()) {
      expect(answer.id).toBe(`call-${i}`);
      const out = Object.fromEntries(answer.outputs.map((o: { name: string }) => [o.name, o]));
      expect(out.y).toMatchObject({ datatype: 'FP32', shape: [1, 2], data: [10 * i, 10 * i + 5] });
      expect(out.greeting).toMatchObject({ datatype: 'BYTES', shape: [1], data: [`hello client ${i}`] });
      expect(out.batch).toMatchObject({ datatype: 'INT32', shape: [1], data: [4] });
    }
    const metrics = await (await fetch(url(loader, '/metrics'))).text();
    expect(metrics).toContain('aiges_batches_total{service="tensor-batched"} 2');
    expect(metrics).toContain('aiges_batch_size_sum{service="tensor-batched"} 8');
    // Triton's statistics: 8 inferences in 2 executions.
    const stats = (await (await fetch(url(loader, '/v2/models/tensor-batched/stats'))).json()) as { model_stats: unknown[] };
    expect(stats.model_stats[0]).toMatchObject({ inference_count: 8, execution_count: 2 });
    // Each batched call's queue wait and its batch's exec are counted (Triton counts per request).
    const { queue, compute_infer } = (stats.model_stats[0] as { inference_stats: Record<string, { count: number; ns: number }> })
      .inference_stats;
    expect(queue?.count).toBe(8);
    expect(compute_infer?.count).toBe(8);
    expect(compute_infer?.ns).toBeGreaterThan(0);
    // Triton's model configuration: the max batch size, dims without the batch dimension.
    const config = await (await fetch(url(loader, '/v2/models/tensor-batched/config'))).json();
    expect(config).toMatchObject({ max_batch_size: 4, input: expect.arrayContaining([{ name: 'x', data_type: 'TYPE_FP32', dims: [2] }]) });
  }, 60_000);
});
