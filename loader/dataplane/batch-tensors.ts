/**
 * Dynamic batching's tensor arithmetic (batcher.ts runs it): which requests may merge, the merged
 * request's items, and the split of a batched output back into each request's rows. Pure functions
 * over the data model; no state.
 *
 * A request can join a batch when each of its items is a tensor with at least one dimension and
 * all share the first one (the request's rows). Requests merge when they have the same keys, and
 * for each key the same datatype, the same dimensions past the first, type, encoding and attributes,
 * and the same params but `sid`. Merging concatenates each tensor along dimension 0 (bytes back to
 * back: numeric elements are row-major, and BYTES elements carry their own length, so both
 * concatenate as bytes); splitting cuts each output tensor along dimension 0 by the requests' rows.
 */
import { AigesError, Codes, named } from '../errors.js';
import { bytesElements, elementCount, isTensorDatatype, TENSOR_DATATYPES } from '../../plugins/tensor.js';
import type { DataItem, InferRequest, OutputItem, Params } from '../../plugins/types.js';

/** Where a request stands for batching: the key of the requests it merges with, and its rows. */
export interface BatchKey {
  key: string;
  rows: number;
}

/** The batch key of a request, or undefined when it cannot be merged with others (runs on its own). */
export function batchKey(items: readonly DataItem[], params: Params, version?: string): BatchKey | undefined {
  if (items.length === 0) return undefined;
  let rows = -1;
  const parts: string[] = [];
  for (const item of items) {
    const tensor = item.tensor;
    if (tensor === undefined || tensor.shape.length === 0) return undefined;
    const first = tensor.shape[0] as number;
    if (rows === -1) rows = first;
    else if (first !== rows) return undefined;
    parts.push(
      JSON.stringify([item.key, tensor.datatype, tensor.shape.slice(1), item.type, item.encoding, sortedEntries(item.attributes)]),
    );
  }
  parts.sort();
  const shared = sortedEntries(params).filter(([name]) => name !== 'sid');
  // Calls to different versions of a model (V2 /versions/{v}) never share a run.
  return { key: `${parts.join('\n')}\n${JSON.stringify(shared)}\n${version ?? ''}`, rows };
}

function sortedEntries(record: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The items of a batch of requests with one batch key: each tensor concatenated along dimension 0,
 * in request order (one copy of the bytes). The first request's items give the order and the
 * fields other than data and shape.
 */
export function mergeItems(requests: readonly InferRequest[]): DataItem[] {
  const first = requests[0];
  if (first === undefined) throw new RangeError('mergeItems needs at least one request');
  return first.items.map((head) => {
    const parts: Buffer[] = [];
    let rows = 0;
    for (const request of requests) {
      const item = request.items.find((i) => i.key === head.key) as DataItem;
      parts.push(item.data);
      rows += item.tensor!.shape[0] as number;
    }
    const shape = [rows, ...head.tensor!.shape.slice(1)];
    return { ...head, data: Buffer.concat(parts), tensor: { datatype: head.tensor!.datatype, shape } };
  });
}

/**
 * Cuts a batched output into one output per request: every item must be a tensor whose dimension
 * 0 is the batch's total rows; each request gets its rows of each tensor (views, not copies), the
 * item's other fields as they are. Throws 10203 (INVALID_OUTPUT) when an item cannot be cut.
 */
export function splitOutputs(output: unknown, rows: readonly number[]): OutputItem[][] {
  if (!Array.isArray(output)) throw new AigesError(Codes.INVALID_OUTPUT, 'plugin output must be an array of items');
  const total = rows.reduce((a, b) => a + b, 0);
  const split: OutputItem[][] = rows.map(() => []);
  for (const raw of output as OutputItem[]) {
    for (const [i, slice] of splitTensor(raw, total, rows).entries()) split[i]!.push(slice);
  }
  return split;
}

/** One output item cut into the rows of each request. */
function splitTensor(raw: OutputItem, total: number, rows: readonly number[]): OutputItem[] {
  if (typeof raw !== 'object' || raw === null || typeof raw.key !== 'string') {
    throw new AigesError(Codes.INVALID_OUTPUT, 'plugin output item must be an object with a string key');
  }
  const fail = (why: string) =>
    new AigesError(Codes.INVALID_OUTPUT, `batched output ${named(raw.key)} cannot be split into the batch's requests: ${why}`);
  const tensor = raw.tensor;
  if (tensor === undefined || !Array.isArray(tensor.shape) || tensor.shape.length === 0) {
    throw fail(`it must be a tensor whose first dimension is the batch's ${total} rows`);
  }
  if (tensor.shape[0] !== total) throw fail(`its first dimension is ${tensor.shape[0]}, the batch has ${total} rows`);
  if (!isTensorDatatype(tensor.datatype)) throw fail(`unknown datatype ${named(String(tensor.datatype))}`);
  const data = toBuffer(raw.data);
  if (data === undefined) throw fail('its data must be a Buffer, Uint8Array or string');
  const rest = tensor.shape.slice(1);
  const perRow = elementCount(rest);
  const size = TENSOR_DATATYPES[tensor.datatype];
  const cuts = size > 0 ? fixedCuts(data.length, perRow * size, total, rows) : bytesCuts(data, perRow, total, rows);
  if (typeof cuts === 'string') throw fail(cuts);
  return rows.map((n, i) => ({
    ...raw,
    data: data.subarray(cuts[i] as number, cuts[i + 1] as number),
    tensor: { datatype: tensor.datatype, shape: [n, ...rest] },
  }));
}

/** Byte offsets where each request's rows start (and the end), for fixed-size elements. */
function fixedCuts(length: number, rowBytes: number, total: number, rows: readonly number[]): number[] | string {
  if (length !== total * rowBytes) return `${total} rows need ${total * rowBytes} bytes, got ${length}`;
  const cuts = [0];
  let at = 0;
  for (const n of rows) cuts.push((at += n * rowBytes));
  return cuts;
}

/** Byte offsets where each request's rows start (and the end), for BYTES elements (each framed by its length). */
function bytesCuts(data: Buffer, perRow: number, total: number, rows: readonly number[]): number[] | string {
  const elements = bytesElements(data);
  if (elements === undefined) return 'BYTES data must be elements of a 4-byte little-endian length and that many bytes';
  if (elements.length !== total * perRow) return `${total} rows need ${total * perRow} BYTES elements, got ${elements.length}`;
  const cuts = [0];
  let element = 0;
  for (const n of rows) {
    element += n * perRow;
    // An element's end is where the next one's length starts; the last ends with the data.
    cuts.push(element === elements.length ? data.length : (elements[element] as Buffer).byteOffset - data.byteOffset - 4);
  }
  return cuts;
}

function toBuffer(data: unknown): Buffer | undefined {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
