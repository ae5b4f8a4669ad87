/**
 * The answer's contents form (grpc-v2.ts inferResponse): typed for a request that sent typed
 * contents, unless an output has no typed form (FP16, BF16), then every output raw.
 */
import { describe, expect, it } from 'vitest';
import type { ServiceMetadata } from '../../loader/dataplane/dataplane.js';
import { inferResponse } from '../../loader/server/grpc-v2.js';
import { toContents } from '../../loader/server/v2-tensors.js';
import { DataStatus, DataType, type DataItem } from '../../plugins/types.js';

const meta = { service: 'm', declaredVersion: '1' } as ServiceMetadata;

function item(key: string, datatype: string, shape: number[], data: Buffer): DataItem {
  return { key, type: DataType.OTHER, status: DataStatus.ONCE, encoding: '', attributes: {}, data, tensor: { datatype, shape } };
}

const word = item('w', 'BYTES', [1], Buffer.from([1, 0, 0, 0, 0x7a]));
const half = item('h', 'FP16', [1], Buffer.from([0x00, 0x3c]));
const plain: DataItem = {
  key: 'text',
  type: DataType.TEXT,
  status: DataStatus.ONCE,
  encoding: 'utf8',
  attributes: {},
  data: Buffer.from('hi'),
};

describe('inferResponse contents', () => {
  it('typed when asked: BYTES elements (an AIGes item too) in bytes_contents, nothing raw', () => {
    const res = inferResponse(meta, [word, plain], 'id', [], undefined, true);
    expect(res.rawOutputContents).toEqual([]);
    expect(res.outputs?.map((o) => o.contents)).toEqual([{ bytesContents: [Buffer.from('z')] }, { bytesContents: [Buffer.from('hi')] }]);
  });

  it('raw for every output when one is FP16, and when not asked', () => {
    for (const typed of [true, false]) {
      const res = inferResponse(meta, [word, half], 'id', [], undefined, typed);
      expect(res.rawOutputContents).toEqual([word.data, half.data]);
      expect(res.outputs?.map((o) => o.contents)).toEqual([undefined, undefined]);
    }
  });

  it('INT64 and UINT64 elements as exact decimal text, past 2^53 too', () => {
    const int64 = Buffer.alloc(16);
    int64.writeBigInt64LE(2n ** 63n - 1n, 0);
    int64.writeBigInt64LE(-(2n ** 63n), 8);
    expect(toContents('INT64', int64)).toEqual({ int64Contents: ['9223372036854775807', '-9223372036854775808'] });
    const uint64 = Buffer.alloc(8);
    uint64.writeBigUInt64LE(2n ** 64n - 1n, 0);
    expect(toContents('UINT64', uint64)).toEqual({ uint64Contents: ['18446744073709551615'] });
    expect(toContents('BF16', Buffer.alloc(2))).toBeUndefined();
  });
});
