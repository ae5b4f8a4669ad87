/** The SDK's tensor helpers: typed-array views without copying, a copy only where alignment needs one. */
import { describe, expect, it } from 'vitest';
import { bytesElements, tensorData, tensorView, typedArrayOf } from '../../plugins/tensor.js';
import { DataStatus, DataType, type DataItem } from '../../plugins/types.js';

function item(data: Buffer, datatype: string, shape: number[]): DataItem {
  return { key: 'x', type: DataType.OTHER, status: DataStatus.ONCE, encoding: '', attributes: {}, data, tensor: { datatype, shape } };
}

describe('tensorView', () => {
  it('views an aligned Buffer without copying: writes show through', () => {
    const block = Buffer.alloc(16);
    const data = block.subarray(4, 12); // offset 4: aligned for FP32
    const view = tensorView(item(data, 'FP32', [2])) as Float32Array;
    expect(view).toBeInstanceOf(Float32Array);
    expect(view.buffer).toBe(block.buffer);
    view[1] = 2.5;
    expect(data.readFloatLE(4)).toBe(2.5);
  });

  it('copies once when the Buffer starts off alignment, with the same values', () => {
    const block = Buffer.alloc(17);
    block.writeDoubleLE(Math.PI, 1);
    const data = block.subarray(1, 9);
    const view = tensorView(item(data, 'FP64', [1])) as Float64Array;
    expect(view[0]).toBe(Math.PI);
    expect(view.buffer).not.toBe(block.buffer);
  });

  it('reads every numeric datatype as its typed array; refuses BYTES, no tensor, a ragged length', () => {
    expect(typedArrayOf('INT64', Buffer.alloc(8))).toBeInstanceOf(BigInt64Array);
    expect(typedArrayOf('UINT64', Buffer.alloc(8))).toBeInstanceOf(BigUint64Array);
    expect(typedArrayOf('FP16', Buffer.alloc(2))).toBeInstanceOf(Uint16Array);
    expect(typedArrayOf('BOOL', Buffer.alloc(3))).toBeInstanceOf(Uint8Array);
    expect(() => tensorView(item(Buffer.alloc(4), 'BYTES', [1]))).toThrow(/BYTES/);
    expect(() => tensorView({ key: 'x', data: Buffer.alloc(4) })).toThrow(/carries no tensor/);
    expect(() => typedArrayOf('INT32', Buffer.alloc(6))).toThrow(/not a whole number/);
  });
});

describe('tensorData and bytesElements', () => {
  it('a typed array becomes its own bytes; BYTES elements are framed and split back', () => {
    const f = new Float32Array([1, 2]);
    const data = tensorData(f);
    expect(data.buffer).toBe(f.buffer);
    const framed = tensorData(['ab', Buffer.from([1])]);
    expect([...framed]).toEqual([2, 0, 0, 0, 0x61, 0x62, 1, 0, 0, 0, 1]);
    expect(bytesElements(framed)?.map((e) => [...e])).toEqual([[0x61, 0x62], [1]]);
    expect(bytesElements(Buffer.from([5, 0, 0, 0, 1]))).toBeUndefined();
  });
});
