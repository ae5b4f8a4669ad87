/**
 * Dynamic batching's tensor arithmetic (loader/dataplane/batch-tensors.ts): which requests merge,
 * the merge along dimension 0 and the split back, for every datatype.
 */
import { describe, expect, it } from 'vitest';
import { Codes } from '../../loader/errors.js';
import { batchKey, mergeItems, splitOutputs } from '../../loader/dataplane/batch-tensors.js';
import { TENSOR_DATATYPES, type TensorDatatype, tensorData } from '../../plugins/tensor.js';
import { DataStatus, DataType, type DataItem, type InferRequest } from '../../plugins/types.js';

function tensorItem(key: string, datatype: string, shape: number[], data: Buffer, extra: Partial<DataItem> = {}): DataItem {
  return { key, type: DataType.OTHER, status: DataStatus.ONCE, encoding: '', attributes: {}, data, tensor: { datatype, shape }, ...extra };
}

function request(items: DataItem[], params: Record<string, string> = {}): InferRequest {
  return { service: 's', params: { sid: 'x', ...params }, headers: {}, items };
}

/** `rows` rows of `perRow` elements of `datatype`, each element's bytes distinct (seeded by `seed`). */
function rowsOf(datatype: TensorDatatype, rows: number, perRow: number, seed: number): Buffer {
  const size = TENSOR_DATATYPES[datatype];
  const n = rows * perRow;
  if (size === 0) return tensorData(Array.from({ length: n }, (_, i) => `s${seed}-${i}${'x'.repeat(i % 3)}`));
  const data = Buffer.alloc(n * size);
  for (let i = 0; i < data.length; i++) data[i] = (seed * 31 + i) & 0xff;
  return data;
}

describe('batch keys', () => {
  it('requests with the same keys, datatypes, dimensions past the first and params share a key; the rows are dimension 0', () => {
    const a = batchKey([tensorItem('x', 'FP32', [2, 3], Buffer.alloc(24))], { sid: 'a' });
    const b = batchKey([tensorItem('x', 'FP32', [5, 3], Buffer.alloc(60))], { sid: 'b' });
    expect(a?.rows).toBe(2);
    expect(b?.rows).toBe(5);
    expect(a?.key).toBe(b?.key);
  });

  it('another inner shape, datatype, key set or param gives another key', () => {
    const base = batchKey([tensorItem('x', 'FP32', [1, 3], Buffer.alloc(12))], { sid: 'a' })!.key;
    const others = [
      batchKey([tensorItem('x', 'FP32', [1, 4], Buffer.alloc(16))], {}),
      batchKey([tensorItem('x', 'INT32', [1, 3], Buffer.alloc(12))], {}),
      batchKey([tensorItem('y', 'FP32', [1, 3], Buffer.alloc(12))], {}),
      batchKey([tensorItem('x', 'FP32', [1, 3], Buffer.alloc(12))], { topk: 3 }),
      batchKey([tensorItem('x', 'FP32', [1, 3], Buffer.alloc(12), { attributes: { scale: '2' } })], {}),
    ];
    for (const other of others) expect(other?.key).not.toBe(base);
  });

  it('the order of the items does not matter', () => {
    const x = tensorItem('x', 'FP32', [1, 2], Buffer.alloc(8));
    const y = tensorItem('y', 'INT64', [1], Buffer.alloc(8));
    expect(batchKey([x, y], {})?.key).toBe(batchKey([y, x], {})?.key);
  });

  it('a request with a plain item, a scalar tensor, or tensors that disagree on dimension 0 cannot merge', () => {
    const plain = { ...tensorItem('t', 'BYTES', [1], Buffer.alloc(0)), tensor: undefined } as DataItem;
    expect(batchKey([plain], {})).toBeUndefined();
    expect(batchKey([tensorItem('x', 'FP32', [], Buffer.alloc(4))], {})).toBeUndefined();
    expect(batchKey([tensorItem('x', 'FP32', [1, 2], Buffer.alloc(8)), tensorItem('y', 'FP32', [2], Buffer.alloc(8))], {})).toBeUndefined();
    expect(batchKey([], {})).toBeUndefined();
  });
});

describe('merge and split', () => {
  const datatypes = Object.keys(TENSOR_DATATYPES) as TensorDatatype[];

  it.each(datatypes)('%s: requests merge along dimension 0 and the merged output splits back into each request', (datatype) => {
    const rows = [1, 3, 2];
    const inner = [2, 2];
    const parts = rows.map((n, i) => rowsOf(datatype, n, 4, i + 1));
    const requests = rows.map((n, i) => request([tensorItem('in', datatype, [n, ...inner], parts[i]!)]));
    const [merged] = mergeItems(requests);
    expect(merged?.tensor).toEqual({ datatype, shape: [6, ...inner] });
    expect(merged?.data.equals(Buffer.concat(parts))).toBe(true);

    // The plugin answers the merged tensor as its output: each request gets its own rows back.
    const split = splitOutputs([{ key: 'out', data: merged!.data, tensor: merged!.tensor }], rows);
    expect(split).toHaveLength(3);
    split.forEach((output, i) => {
      expect(output).toHaveLength(1);
      expect(output[0]?.tensor).toEqual({ datatype, shape: [rows[i], ...inner] });
      expect(Buffer.from(output[0]!.data as Uint8Array).equals(parts[i]!)).toBe(true);
    });
  });

  it('items listed in another order merge by key; the first request gives the order and fields', () => {
    const a = request([tensorItem('x', 'UINT8', [1], Buffer.from([1])), tensorItem('y', 'UINT8', [1], Buffer.from([10]))]);
    const b = request([tensorItem('y', 'UINT8', [2], Buffer.from([20, 21])), tensorItem('x', 'UINT8', [2], Buffer.from([2, 3]))]);
    const merged = mergeItems([a, b]);
    expect(merged.map((i) => i.key)).toEqual(['x', 'y']);
    expect([...merged[0]!.data]).toEqual([1, 2, 3]);
    expect([...merged[1]!.data]).toEqual([10, 20, 21]);
    expect(merged[1]?.tensor?.shape).toEqual([3]);
  });

  it('a request of 0 rows gets an empty tensor back', () => {
    const split = splitOutputs([{ key: 'o', data: Buffer.from([1, 2]), tensor: { datatype: 'UINT8', shape: [2] } }], [2, 0]);
    expect([...(split[0]![0]!.data as Buffer)]).toEqual([1, 2]);
    expect(split[1]![0]?.tensor?.shape).toEqual([0]);
    expect((split[1]![0]!.data as Buffer).length).toBe(0);
  });

  it('an output that is not a tensor of the batch rows cannot be split: 10203', () => {
    const cases: unknown[] = [
      'not a list',
      [{ key: 'o', data: 'text' }],
      [{ key: 'o', data: Buffer.alloc(12), tensor: { datatype: 'FP32', shape: [3] } }],
      [{ key: 'o', data: Buffer.alloc(7), tensor: { datatype: 'FP32', shape: [2] } }],
      [{ key: 'o', data: Buffer.from([9, 0, 0, 0, 1]), tensor: { datatype: 'BYTES', shape: [2] } }],
      [{ key: 'o', data: Buffer.alloc(2), tensor: { datatype: 'NOPE', shape: [2] } }],
    ];
    for (const output of cases) {
      expect(() => splitOutputs(output, [1, 1])).toThrow(expect.objectContaining({ aigesCode: Codes.INVALID_OUTPUT }));
    }
  });
});
