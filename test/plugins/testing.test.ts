/** The SDK harness serving the other services a plugin calls with ctx.infer (HarnessOptions.services). */
import { describe, expect, it } from 'vitest';
import { Codes, defineWrapper, tensorData } from '../../plugins/index.js';
import { createHarness, item } from '../../plugins/testing.js';
import tensorScale from '../fixtures/plugins/tensor-scale.js';

/** Pre-processes text into an FP32 tensor, has `model` score it, answers the best index. */
const pipeline = defineWrapper({
  id: 'pipeline',
  schema: { input: { text: { type: 'text' } }, output: { best: { type: 'text' } } },
  async exec(request, ctx) {
    const x = Float32Array.from(request.items[0]?.data ?? [], (c) => c / 255);
    const answer = await ctx.infer('model', { inputs: [{ name: 'x', datatype: 'FP32', shape: [x.length], data: x }] });
    const y = answer.tensor('y', 'FP32');
    return [{ key: 'best', data: String(y.indexOf(Math.max(...y))) }];
  },
});

describe('createHarness services', () => {
  it('serves a wrapper under the id the plugin calls', async () => {
    const h = await createHarness(pipeline, { services: { model: tensorScale } });
    const [out] = await h.infer([item('text', 'azb')]);
    expect(out?.data.toString()).toBe('1');
    await h.close();
  });

  it('serves a stub function: any keys, tensors as sent', async () => {
    const seen: unknown[] = [];
    const h = await createHarness(pipeline, {
      services: {
        model(request) {
          seen.push(request.items[0]?.tensor);
          return [{ key: 'y', data: tensorData(new Float32Array([0, 0, 1])), tensor: { datatype: 'FP32', shape: [3] } }];
        },
      },
    });
    const [out] = await h.infer([item('text', 'abc')]);
    expect(out?.data.toString()).toBe('2');
    expect(seen).toEqual([{ datatype: 'FP32', shape: [3] }]);
    await h.close();
  });

  it('without the service, the call fails with 10200 from ctx.infer', async () => {
    const h = await createHarness(pipeline);
    await expect(h.infer([item('text', 'abc')])).rejects.toMatchObject({ aigesCode: Codes.SERVICE_NOT_FOUND });
    await h.close();
  });
});
