/**
 * Tensors in the data model: an item whose `tensor` is set holds a tensor's elements in `data`,
 * little-endian and row-major, as the Open Inference Protocol (V2) carries them: fixed-size
 * elements back to back (BOOL one byte each), or, for BYTES, each element as a 4-byte
 * little-endian length followed by its bytes (docs/v2.md).
 */
import { endianness } from 'node:os';
import type { DataItem } from './types.js';

/** The V2 datatypes and the bytes of one element (0: BYTES, variable). */
export const TENSOR_DATATYPES = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
  BF16: 2,
  BYTES: 0,
} as const;

export type TensorDatatype = keyof typeof TENSOR_DATATYPES;

export function isTensorDatatype(name: unknown): name is TensorDatatype {
  return typeof name === 'string' && Object.hasOwn(TENSOR_DATATYPES, name);
}

/** The number of elements of a shape (1 for a scalar shape []). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Splits BYTES tensor data into its elements (views into `data`, not copies); undefined when the
 * framing does not hold (a length running past the end).
 */
export function bytesElements(data: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) return undefined;
    const n = data.readUInt32LE(at);
    at += 4;
    if (at + n > data.length) return undefined;
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

/**
 * Why `data` cannot be the elements of a tensor of this datatype and shape, or undefined when it
 * can: fixed-size elements need exactly elements × size bytes, BYTES a framing that holds as many
 * elements as the shape.
 */
export function tensorDataProblem(datatype: TensorDatatype, shape: readonly number[], data: Buffer): string | undefined {
  for (const d of shape) if (!Number.isSafeInteger(d) || d < 0) return `shape [${shape.join(',')}] must hold non-negative integers`;
  const count = elementCount(shape);
  const size = TENSOR_DATATYPES[datatype];
  if (size > 0) {
    if (data.length === count * size) return undefined;
    return `shape [${shape.join(',')}] of ${datatype} needs ${count * size} bytes, got ${data.length}`;
  }
  const elements = bytesElements(data);
  if (elements === undefined) return 'BYTES data must be elements of a 4-byte little-endian length and that many bytes';
  if (elements.length !== count) return `shape [${shape.join(',')}] needs ${count} BYTES elements, got ${elements.length}`;
  return undefined;
}

/** The typed array a numeric datatype reads as (FP16 and BF16 as their raw 16-bit words). */
export interface TensorArrays {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  BF16: Uint16Array;
}

export type NumericDatatype = keyof TensorArrays;
export type TensorArray = TensorArrays[NumericDatatype];

type ArrayConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TensorArray;

const ARRAYS: Readonly<Record<NumericDatatype, ArrayConstructor>> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
  BF16: Uint16Array,
};

/** Typed arrays read in the machine's byte order; tensors are little-endian. */
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The elements of numeric tensor data as a typed array of its datatype (`Float32Array` for FP32,
 * `BigInt64Array` for INT64, the raw 16-bit words for FP16 and BF16, one byte per element for
 * BOOL).
 *
 * Without copying: the array views the Buffer's own memory whenever the Buffer starts at a
 * multiple of the element size within its ArrayBuffer, which is how the loader hands inputs over
 * in the usual case. Otherwise (a Buffer cut from a pooled or shared block at an odd offset) the
 * bytes are copied once into an aligned array, since a typed array cannot start there. Writing
 * into a view writes into the item's data: inputs are read-only (see `DataItem.data`).
 *
 * Throws a TypeError for BYTES, for a length that is not a whole number of elements, and on a
 * big-endian machine (never seen in practice with Node; a view would read the bytes swapped).
 */
export function typedArrayOf<D extends NumericDatatype>(datatype: D, data: Uint8Array): TensorArrays[D] {
  const Ctor = ARRAYS[datatype];
  if (Ctor === undefined) throw new TypeError(`no typed array for datatype ${String(datatype)}`);
  if (!LITTLE_ENDIAN) throw new TypeError('typed-array views of little-endian tensors need a little-endian machine');
  const size = TENSOR_DATATYPES[datatype];
  if (data.byteLength % size !== 0) throw new TypeError(`${data.byteLength} bytes are not a whole number of ${datatype} elements`);
  const length = data.byteLength / size;
  if (data.byteOffset % size === 0) return new Ctor(data.buffer, data.byteOffset, length) as TensorArrays[D];
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return new Ctor(copy.buffer, 0, length) as TensorArrays[D];
}

/**
 * The elements of a numeric tensor input as a typed array of its datatype, viewing `item.data`
 * without copying when the Buffer is aligned (see `typedArrayOf`, which says when it copies).
 * Throws a TypeError when the item carries no tensor, or a BYTES one (use `bytesElements`).
 *
 * ```ts
 * const x = tensorView(request.items[0]) as Float32Array;  // an FP32 input
 * ```
 */
export function tensorView(item: Pick<DataItem, 'data' | 'tensor' | 'key'>): TensorArray {
  const datatype = item.tensor?.datatype;
  if (datatype === undefined) throw new TypeError(`item ${JSON.stringify(item.key)} carries no tensor`);
  if (!isTensorDatatype(datatype) || datatype === 'BYTES') {
    throw new TypeError(`item ${JSON.stringify(item.key)} is a ${datatype} tensor: no typed array (BYTES: use bytesElements)`);
  }
  return typedArrayOf(datatype, item.data);
}

/**
 * The elements of tensor item `key` among `items` (another service's answer, `ctx.infer`) as the
 * typed array of its datatype, as `tensorView` reads it. With `datatype`, also checks the tensor
 * has it. Throws a TypeError when no item has the key, or it is not a numeric tensor of `datatype`.
 *
 * ```ts
 * const logits = tensorOf(answer.items, 'logits', 'FP32');  // Float32Array
 * ```
 */
export function tensorOf<D extends NumericDatatype = NumericDatatype>(
  items: readonly Pick<DataItem, 'data' | 'tensor' | 'key'>[],
  key: string,
  datatype?: D,
): TensorArrays[D] {
  const item = items.find((i) => i.key === key);
  if (item === undefined) {
    const keys = items.map((i) => JSON.stringify(i.key)).join(', ');
    throw new TypeError(`no item ${JSON.stringify(key)} among ${keys || 'none'}`);
  }
  if (datatype !== undefined && item.tensor?.datatype !== datatype) {
    const is = item.tensor === undefined ? 'no tensor' : `a ${item.tensor.datatype} tensor`;
    throw new TypeError(`item ${JSON.stringify(key)} is ${is}, not ${datatype}`);
  }
  return tensorView(item) as TensorArrays[D];
}

/**
 * Tensor data from a typed array or from BYTES elements, for an output item's `data`: a typed
 * array's own bytes (no copy), or BYTES elements framed with their lengths (one copy).
 */
export function tensorData(values: TensorArray | readonly (Uint8Array | string)[]): Buffer {
  if (!Array.isArray(values)) {
    const array = values as TensorArray;
    return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  }
  const parts: Buffer[] = [];
  for (const v of values as readonly (Uint8Array | string)[]) {
    const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(bytes.length, 0);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}
