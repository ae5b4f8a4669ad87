/** FP32 tensor items of the pipeline tests (the tensor-scale fixture takes `x`, answers `y`). */
import type { DataItem, DataItem__Output } from '../../proto/gen/aiges/v1/DataItem.js';

/** Input `x`: an FP32 tensor of `values` (type OTHER, status ONCE). */
export const x = (values: number[]): DataItem => ({
  key: 'x',
  type: 4,
  status: 3,
  encoding: '',
  data: Buffer.from(new Float32Array(values).buffer),
  datatype: 'FP32',
  shape: [values.length],
});

/** An answered item's FP32 values. */
export const floats = (item: DataItem__Output | undefined): number[] => [...new Float32Array(new Uint8Array(item?.data ?? []).buffer)];
