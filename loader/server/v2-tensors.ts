/**
 * The V2 tensor codec, shared by the REST and gRPC adapters: a tensor's elements as JSON values
 * (REST `data`, nested or flat, row-major) ↔ its raw little-endian bytes, the form the data model
 * carries (plugins/tensor.ts). Every problem is 10009 (INVALID_DATA, HTTP 400) naming the tensor.
 *
 * JSON values by datatype: BOOL true/false; integers as JSON numbers, range-checked; INT64 and
 * UINT64 also as strings of decimal digits, since a JSON number past 2^53 loses digits in most
 * parsers (ours included) — the answer writes them as exact JSON number text; FP32/FP64 numbers;
 * BYTES UTF-8 strings; FP16 and BF16 only as binary data.
 */
import { AigesError, Codes, named } from '../errors.js';
import {
  bytesElements,
  elementCount,
  isTensorDatatype,
  type NumericDatatype,
  TENSOR_DATATYPES,
  type TensorDatatype,
  tensorDataProblem,
  typedArrayOf,
} from '../../plugins/tensor.js';
import type { InferTensorContents } from '../../proto/gen/inference/InferTensorContents.js';

export function tensorError(name: string, what: string): AigesError {
  return new AigesError(Codes.INVALID_DATA, `tensor ${named(name)}: ${what}`, { detail: { tensor: name } });
}

/** Checks a wire datatype name. */
export function datatypeOf(name: string, value: unknown): TensorDatatype {
  if (!isTensorDatatype(value)) {
    throw tensorError(name, `datatype ${named(String(value))} is not one of ${Object.keys(TENSOR_DATATYPES).join(', ')}`);
  }
  return value;
}

/** Checks a request shape: non-negative integers (a request has no variable dimension). */
export function shapeOf(name: string, value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw tensorError(name, 'shape must be a list of non-negative integers');
  }
  return value as number[];
}

/** Checks raw tensor bytes (binary data, gRPC raw contents) against the datatype and shape. */
export function checkRaw(name: string, datatype: TensorDatatype, shape: readonly number[], data: Buffer): void {
  const problem = tensorDataProblem(datatype, shape, data);
  if (problem !== undefined) throw tensorError(name, problem);
}

/** Row-major flattening of nested JSON arrays. */
function flatten(data: unknown, out: unknown[]): void {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(data);
}

const INT_RANGES: Partial<Record<TensorDatatype, [number, number]>> = {
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
};

const INT64_RANGE: Record<'INT64' | 'UINT64', [bigint, bigint]> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

function bigIntOf(name: string, datatype: 'INT64' | 'UINT64', v: unknown): bigint {
  let n: bigint | undefined;
  if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^-?[0-9]{1,20}$/.test(v)) n = BigInt(v);
  const [min, max] = INT64_RANGE[datatype];
  if (n === undefined || n < min || n > max) throw tensorError(name, `${datatype} element ${elementText(v)} is not an integer in range`);
  return n;
}

function elementText(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * JSON `data` (nested or flat) → raw bytes. The element count must match the shape; values must
 * suit the datatype.
 */
export function fromJson(name: string, datatype: TensorDatatype, shape: readonly number[], data: unknown): Buffer {
  if (datatype === 'FP16' || datatype === 'BF16') {
    throw tensorError(name, `${datatype} tensors travel only as binary data (parameter binary_data_size)`);
  }
  const values: unknown[] = [];
  flatten(data, values);
  const count = elementCount(shape);
  if (values.length !== count) {
    throw tensorError(name, `shape [${shape.join(',')}] needs ${count} elements, data has ${values.length}`);
  }
  if (datatype === 'BYTES') {
    const parts: Buffer[] = [];
    for (const v of values) {
      if (typeof v !== 'string') throw tensorError(name, `BYTES element ${elementText(v)} must be a string`);
      const bytes = Buffer.from(v, 'utf8');
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32LE(bytes.length, 0);
      parts.push(length, bytes);
    }
    return Buffer.concat(parts);
  }
  const out = Buffer.alloc(count * TENSOR_DATATYPES[datatype]);
  const array = typedArrayOf(datatype as NumericDatatype, out);
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const big = array as BigInt64Array | BigUint64Array;
    for (let i = 0; i < count; i++) big[i] = bigIntOf(name, datatype, values[i]);
    return out;
  }
  const numbers = array as Exclude<typeof array, BigInt64Array | BigUint64Array>;
  const range = INT_RANGES[datatype];
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (datatype === 'BOOL') {
      if (typeof v !== 'boolean') throw tensorError(name, `BOOL element ${elementText(v)} must be true or false`);
      numbers[i] = v ? 1 : 0;
    } else if (typeof v !== 'number') {
      throw tensorError(name, `${datatype} element ${elementText(v)} must be a number`);
    } else if (range !== undefined && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
      throw tensorError(name, `${datatype} element ${elementText(v)} is not an integer in range`);
    } else numbers[i] = v;
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Raw bytes → the text of a flat JSON array, or undefined when JSON cannot carry them: FP16 and
 * BF16, a float that is not finite, a BYTES element that is not UTF-8. INT64 and UINT64 are
 * written as exact number text.
 */
export function toJsonText(datatype: TensorDatatype, data: Buffer): string | undefined {
  if (datatype === 'FP16' || datatype === 'BF16') return undefined;
  if (datatype === 'BYTES') {
    const elements = bytesElements(data);
    return elements === undefined ? undefined : bytesJsonText(elements);
  }
  const array = typedArrayOf(datatype, data);
  if (datatype === 'BOOL') {
    let text = '[';
    for (let i = 0; i < array.length; i++) text += (i === 0 ? '' : ',') + (array[i] === 0 ? 'false' : 'true');
    return `${text}]`;
  }
  if (datatype === 'FP32' || datatype === 'FP64') {
    for (const v of array as Float32Array | Float64Array) if (!Number.isFinite(v)) return undefined;
  }
  // A typed array's join writes each element as its shortest exact decimal (BigInt ones whole).
  return `[${array.join(',')}]`;
}

/** BYTES elements → the text of a JSON array of strings, or undefined when one is not UTF-8. */
export function bytesJsonText(elements: readonly Buffer[]): string | undefined {
  const strings: string[] = [];
  try {
    for (const e of elements) strings.push(UTF8.decode(e));
  } catch {
    return undefined;
  }
  return JSON.stringify(strings);
}

/** BYTES elements framed as raw tensor data (4-byte little-endian length, then the bytes). */
export function bytesRaw(elements: readonly Buffer[]): Buffer[] {
  const parts: Buffer[] = [];
  for (const e of elements) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(e.length, 0);
    parts.push(length, e);
  }
  return parts;
}

/** gRPC typed contents, as decoded (proto/gen InferTensorContents__Output). */
export interface TypedContents {
  boolContents: boolean[];
  intContents: number[];
  int64Contents: number[];
  uintContents: number[];
  uint64Contents: number[];
  fp32Contents: number[];
  fp64Contents: number[];
  bytesContents: Buffer[];
}

const CONTENTS_FIELD: Record<Exclude<TensorDatatype, 'FP16' | 'BF16' | 'BYTES'>, keyof TypedContents> = {
  BOOL: 'boolContents',
  INT8: 'intContents',
  INT16: 'intContents',
  INT32: 'intContents',
  INT64: 'int64Contents',
  UINT8: 'uintContents',
  UINT16: 'uintContents',
  UINT32: 'uintContents',
  UINT64: 'uint64Contents',
  FP32: 'fp32Contents',
  FP64: 'fp64Contents',
};

/**
 * gRPC typed contents → raw bytes, the element count checked against the shape. INT64 and UINT64
 * arrive as JS numbers (the loader's protobuf options): exact to 2^53; past it send raw contents.
 */
export function fromContents(name: string, datatype: TensorDatatype, shape: readonly number[], contents: TypedContents): Buffer {
  if (datatype === 'BYTES') {
    const count = elementCount(shape);
    if (contents.bytesContents.length !== count) {
      throw tensorError(name, `shape [${shape.join(',')}] needs ${count} elements, bytes_contents has ${contents.bytesContents.length}`);
    }
    return Buffer.concat(bytesRaw(contents.bytesContents));
  }
  if (datatype === 'FP16' || datatype === 'BF16') throw tensorError(name, `${datatype} tensors travel only as raw contents`);
  return fromJson(name, datatype, shape, contents[CONTENTS_FIELD[datatype]]);
}

/**
 * Raw bytes (checked already) → gRPC typed contents, in the datatype's field; undefined for FP16
 * and BF16, which travel only raw. INT64 and UINT64 elements go as decimal text, which protobuf
 * encodes exactly (a JS number would lose digits past 2^53).
 */
export function toContents(datatype: TensorDatatype, data: Buffer): InferTensorContents | undefined {
  if (datatype === 'FP16' || datatype === 'BF16') return undefined;
  if (datatype === 'BYTES') return { bytesContents: bytesElements(data) ?? [] };
  const array = typedArrayOf(datatype, data);
  const field = CONTENTS_FIELD[datatype];
  if (datatype === 'BOOL') return { [field]: Array.from(array as Uint8Array, (v) => v !== 0) };
  if (datatype === 'INT64' || datatype === 'UINT64') return { [field]: Array.from(array as BigInt64Array, String) };
  return { [field]: Array.from(array as Exclude<typeof array, BigInt64Array | BigUint64Array>) };
}
