/**
 * V2 REST wire ↔ V2 tensors (v2-items.ts) for the HTTP adapter, no request logic here.
 *
 * Request `{id?, parameters?, inputs: [{name, datatype, shape, parameters?, data?}], outputs?: [{name, parameters?}]}`,
 * JSON alone or, with the binary tensor data extension, followed by the raw tensors in order
 * (header `Inference-Header-Content-Length` = the JSON's length; an input with parameter
 * `binary_data_size` takes that many bytes). The answer is JSON, or JSON followed by the raw
 * outputs that go binary: those asked for with `binary_data` (or `binary_data_output` on the
 * request) and those JSON cannot carry (FP16, BF16, non-finite floats, BYTES that are not UTF-8).
 */
import { AigesError, Codes, named } from '../errors.js';
import { bytesElements, TENSOR_DATATYPES as TENSOR_SIZES, type TensorDatatype } from '../../plugins/tensor.js';
import { checkRaw, datatypeOf, fromJson, shapeOf, toJsonText, bytesJsonText, bytesRaw, tensorError } from './v2-tensors.js';
import type { InputTensor, OutputTensor, ParameterValue } from './v2-items.js';

export const HEADER_LENGTH = 'inference-header-content-length';

/** A body sent with the binary tensor data extension: its JSON header parsed, the bytes after it. */
export class BinaryBody {
  constructor(
    /** undefined when `Inference-Header-Content-Length` is 0: the body is one input's raw bytes. */
    readonly header: unknown,
    readonly rest: Buffer,
  ) {}
}

/** The JSON header's length, checked against the body. */
export function headerLengthOf(value: string | string[] | undefined, bodyLength: number): number {
  const n = typeof value === 'string' && /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > bodyLength) {
    throw new AigesError(
      Codes.INVALID_DATA,
      `header Inference-Header-Content-Length must be an integer from 0 to the body's length (${bodyLength})`,
    );
  }
  return n;
}

export interface RequestedOutput {
  name: string;
  /** The output's own `binary_data`, when it says. */
  binary: boolean | undefined;
}

export interface V2InferRequest {
  id: string;
  parameters: Record<string, ParameterValue>;
  inputs: InputTensor[];
  /** undefined: every output. */
  outputs: RequestedOutput[] | undefined;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(what: string): AigesError {
  return new AigesError(Codes.INVALID_DATA, what);
}

function parametersOf(value: unknown, path: string): Record<string, ParameterValue> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalid(`${path} must be an object`);
  const out: Record<string, ParameterValue> = {};
  for (const name in value) {
    const v = value[name];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw invalid(`${path}.${name} must be a string, number or boolean`);
    }
    if (name !== '__proto__') out[name] = v;
  }
  return out;
}

function field(o: Json, name: string): unknown {
  return Object.hasOwn(o, name) ? o[name] : undefined;
}

/** Parses an infer request; `binary` holds the bytes after a binary body's JSON header. */
export function parseInferRequest(body: unknown, binary: Buffer | undefined): V2InferRequest {
  if (!isObject(body)) throw invalid('request body must be a JSON object');
  const id = field(body, 'id') ?? '';
  if (typeof id !== 'string') throw invalid('id must be a string');
  const parameters = parametersOf(field(body, 'parameters'), 'parameters');
  const inputsJson = field(body, 'inputs');
  if (!Array.isArray(inputsJson) || inputsJson.length === 0) throw invalid('inputs must be a non-empty list');
  let at = 0;
  const inputs = inputsJson.map((input: unknown, i): InputTensor => {
    if (!isObject(input)) throw invalid(`inputs[${i}] must be an object`);
    const name = field(input, 'name');
    if (typeof name !== 'string' || name === '') throw invalid(`inputs[${i}].name must be a non-empty string`);
    const datatype = datatypeOf(name, field(input, 'datatype'));
    const shape = shapeOf(name, field(input, 'shape'));
    const params = parametersOf(field(input, 'parameters'), `inputs[${i}].parameters`);
    const size = params['binary_data_size'];
    let data: Buffer;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw tensorError(name, 'parameter binary_data_size must be a non-negative integer');
      }
      if (binary === undefined || at + size > binary.length) {
        throw tensorError(name, `binary_data_size ${size} runs past the binary data of the body`);
      }
      data = binary.subarray(at, at + size);
      at += size;
      if (field(input, 'data') !== undefined) throw tensorError(name, 'has both data and binary_data_size');
      checkRaw(name, datatype, shape, data);
    } else {
      const json = field(input, 'data');
      if (json === undefined) throw tensorError(name, 'has no data (nor binary_data_size)');
      data = fromJson(name, datatype, shape, json);
    }
    return { name, datatype, shape, data, parameters: params };
  });
  if (binary !== undefined && at !== binary.length) {
    throw invalid(`the body holds ${binary.length - at} bytes past the inputs' binary_data_size`);
  }
  return { id, parameters, inputs, outputs: requestedOutputs(field(body, 'outputs')) };
}

function requestedOutputs(value: unknown): RequestedOutput[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid('outputs must be a list');
  return value.map((o: unknown, i): RequestedOutput => {
    if (!isObject(o)) throw invalid(`outputs[${i}] must be an object`);
    const name = field(o, 'name');
    if (typeof name !== 'string' || name === '') throw invalid(`outputs[${i}].name must be a non-empty string`);
    const binary = parametersOf(field(o, 'parameters'), `outputs[${i}].parameters`)['binary_data'];
    if (binary !== undefined && typeof binary !== 'boolean') throw invalid(`outputs[${i}].parameters.binary_data must be true or false`);
    return { name, binary };
  });
}

/**
 * The input of a body sent with `Inference-Header-Content-Length: 0` (the body is one input's
 * raw bytes), for the model's single input `name`: of its declared datatype, its shape the
 * declared one with the one variable dimension (if any) sized to the body; without a declared
 * datatype the bytes are the item's as they are (a BYTES element).
 */
export function rawBodyInput(
  name: string,
  datatype: TensorDatatype | undefined,
  shape: readonly number[] | undefined,
  body: Buffer,
): InputTensor {
  if (datatype === undefined) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(body.length, 0);
    return { name, datatype: 'BYTES', shape: [1], data: Buffer.concat([length, body]), parameters: {} };
  }
  const declared = shape ?? [-1];
  const variable = declared.filter((d) => d === -1).length;
  if (variable > 1) throw tensorError(name, `a body without JSON header cannot size shape [${declared.join(',')}]: send the header`);
  const known = declared.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const count = datatype === 'BYTES' ? countBytesElements(name, body) : body.length / (TENSOR_SIZES[datatype] ?? 1);
  const rest = variable === 0 || known === 0 ? known : count / known;
  if (!Number.isInteger(rest)) throw tensorError(name, `${body.length} bytes do not fill shape [${declared.join(',')}] of ${datatype}`);
  const sized = declared.map((d) => (d === -1 ? rest : d));
  checkRaw(name, datatype, sized, body);
  return { name, datatype, shape: sized, data: body, parameters: {} };
}

function countBytesElements(name: string, body: Buffer): number {
  const elements = bytesElements(body);
  if (elements === undefined) throw tensorError(name, 'BYTES data must be elements of a 4-byte little-endian length and that many bytes');
  return elements.length;
}

/**
 * An encoded answer: the JSON text alone, or (some outputs binary) the JSON followed by the raw
 * outputs in one Buffer — copied, since the plugin may take its output memory back once the
 * answer is encoded (dataplane `encode`).
 */
export type EncodedAnswer = { json: string; body?: undefined } | { json: string; body: Buffer };

export interface AnswerHead {
  model: string;
  version: string;
  id: string;
}

/**
 * Output tensors → the answer. With `requested`, only those outputs, in that order (a declared
 * output the plugin did not produce is left out); `binaryOutput` is the request's
 * `binary_data_output`.
 */
export function encodeAnswer(
  head: AnswerHead,
  tensors: readonly OutputTensor[],
  requested: readonly RequestedOutput[] | undefined,
  binaryOutput: boolean,
): EncodedAnswer {
  const chosen: { tensor: OutputTensor; binary: boolean | undefined }[] = [];
  if (requested === undefined) for (const tensor of tensors) chosen.push({ tensor, binary: undefined });
  else {
    for (const r of requested) {
      const tensor = tensors.find((t) => t.name === r.name);
      if (tensor !== undefined) chosen.push({ tensor, binary: r.binary });
    }
  }
  const parts: string[] = [];
  const binary: Buffer[] = [];
  for (const { tensor, binary: asked } of chosen) {
    let text: string | undefined;
    if (!(asked ?? binaryOutput)) {
      text = tensor.elements !== undefined ? bytesJsonText(tensor.elements) : toJsonText(tensor.datatype, checkedOutput(tensor));
    }
    const parameters: Record<string, string | number> = { ...tensor.parameters };
    if (text === undefined) {
      const raw = tensor.elements !== undefined ? bytesRaw(tensor.elements) : [checkedOutput(tensor)];
      let size = 0;
      for (const r of raw) size += r.length;
      parameters['binary_data_size'] = size;
      binary.push(...raw);
    }
    let part = `{"name":${JSON.stringify(tensor.name)},"datatype":"${tensor.datatype}","shape":${JSON.stringify(tensor.shape)}`;
    if (Object.keys(parameters).length > 0) part += `,"parameters":${JSON.stringify(parameters)}`;
    if (text !== undefined) part += `,"data":${text}`;
    parts.push(`${part}}`);
  }
  const json = `{"model_name":${JSON.stringify(head.model)},"model_version":${JSON.stringify(head.version)},"id":${JSON.stringify(head.id)},"outputs":[${parts.join(',')}]}`;
  if (binary.length === 0) return { json };
  return { json, body: Buffer.concat([Buffer.from(json, 'utf8'), ...binary]) };
}

/** A plugin's output tensor whose data does not match its shape is the plugin's fault (10203). */
function checkedOutput(tensor: OutputTensor): Buffer {
  const data = tensor.data as Buffer;
  try {
    checkRaw(tensor.name, tensor.datatype, tensor.shape, data);
  } catch (err) {
    throw new AigesError(Codes.INVALID_OUTPUT, `output ${named(tensor.name)}: ${(err as Error).message}`);
  }
  return data;
}
