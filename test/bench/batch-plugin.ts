/**
 * The batching section's model: `x` FP32 [-1, 16] answered as `y` = 2x. Each exec costs a fixed
 * part (a 2 ms wait, standing for a model run's launch and transfer cost) plus fixed integer work
 * per row: what dynamic batching amortises. Batching is declared here; the bench turns it off with
 * `--set plugin.batching.max_batch_size=0` for the unbatched case.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defineWrapper, tensorData, tensorView } from 'aiges-ts';

const ROW_WORK = 20_000;

export default defineWrapper({
  id: 'batch-bench',
  schema: {
    input: { x: { type: 'other', datatype: 'FP32', shape: [-1, 16] } },
    output: { y: { type: 'other', datatype: 'FP32', shape: [-1, 16] } },
  },
  batching: { maxBatchSize: 32 },
  async exec(request) {
    const x = request.items[0]!;
    const rows = x.tensor!.shape[0]!;
    await sleep(2);
    let h = 2166136261 | 0;
    for (let i = 0; i < rows * ROW_WORK; i++) {
      h ^= i & 0xff;
      h = Math.imul(h, 16777619);
    }
    const y = (tensorView(x) as Float32Array).map((v) => v * 2 + (h & 0));
    return [{ key: 'y', data: tensorData(y), tensor: { datatype: 'FP32', shape: [rows, 16] } }];
  },
});
