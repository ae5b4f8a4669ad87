/**
 * The V2 (Open Inference Protocol) view of a service, shared by the REST and gRPC adapters:
 * tensors ↔ items, request parameters → params, model metadata and version. Conversion only;
 * whether the items suit the plugin is the data plane's check (docs/v2.md has the mapping).
 *
 * - An input whose key the schema declares with a `datatype` becomes a tensor item: `data` the
 *   tensor's raw bytes, `tensor` its datatype and shape (the data plane checks both).
 * - An input of a plain (AIGes-style) key that is a BYTES tensor of one element becomes an item
 *   holding that element's bytes, no tensor: so an AIGes wrapper takes V2 requests unchanged.
 *   Any other tensor reaches it as raw bytes with `tensor` set (a native wrapper sees the
 *   datatype and shape in its desc).
 * - An output item with `tensor` becomes that tensor; one without (an AIGes wrapper's output)
 *   a BYTES tensor of shape [1] holding its bytes.
 * - Input parameters: `encoding` → the item's encoding, the others → its attributes; an output's
 *   encoding and attributes come back as its parameters. Request parameters → params, but for
 *   the names the protocol reserves.
 */
import { AigesError, Codes, named } from '../errors.js';
import type { ServiceMetadata } from '../dataplane/dataplane.js';
import { DATA_TYPE_BY_NAME, DataStatus, DataType, type DataItem, type ItemSpec } from '../../plugins/types.js';
import { bytesElements, elementCount, type TensorDatatype } from '../../plugins/tensor.js';
import type { DataType as ConfigDataType } from '../../proto/gen/inference/DataType.js';
import { datatypeOf } from './v2-tensors.js';

/** What `GET /v2` and `ServerMetadata` name. */
export const SERVER_NAME = 'aiges-ts';
/** What server metadata lists (REST `GET /v2`, gRPC ServerMetadata). */
export const V2_EXTENSIONS: readonly string[] = ['binary_tensor_data', 'statistics', 'model_configuration'];
/** The platform model metadata names. */
export const PLATFORM = 'aiges-ts';

/** The V2 parameter value kinds (gRPC's int64/uint64 may come as bigint). */
export type ParameterValue = string | number | boolean | bigint;

export interface InputTensor {
  name: string;
  datatype: TensorDatatype;
  shape: number[];
  /** Raw little-endian row-major bytes (BYTES: each element length-prefixed). */
  data: Buffer;
  parameters: Record<string, ParameterValue>;
}

export interface OutputTensor {
  name: string;
  datatype: TensorDatatype;
  shape: number[];
  parameters: Record<string, string>;
  /** Raw bytes; absent when `elements` holds the tensor. */
  data?: Buffer;
  /** BYTES elements, unframed (an AIGes item's bytes). */
  elements?: Buffer[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/**
 * Request parameters the protocol reserves: never params of the plugin. `binary_data_output` and
 * `timeout` are read by the adapter, the sequence ones by sessions (gRPC ModelStreamInfer).
 */
export function isReservedParameter(name: string): boolean {
  return RESERVED.has(name) || name.startsWith('triton_');
}
const RESERVED = new Set([
  'binary_data_output',
  'binary_data',
  'binary_data_size',
  'sequence_id',
  'sequence_start',
  'sequence_end',
  'priority',
  'timeout',
  'headers',
]);

/** A model's version: the one a request named (`checkVersion`), else the plugin's latest, else "1". */
export function modelVersion(meta: ServiceMetadata): string {
  return meta.declaredVersion ?? '1';
}

/**
 * The model at the version a request names: the same metadata, or, for a model serving several
 * versions (a repository model), a copy naming that one (`modelVersion`, `requestVersion`). A
 * version the model does not serve is 404, as an unknown model is.
 */
export function checkVersion(meta: ServiceMetadata, version: string | undefined): ServiceMetadata {
  if (version === undefined || version === '' || version === modelVersion(meta)) return meta;
  if (meta.versions?.includes(version) === true) {
    const own = meta.versionSchemas?.[version];
    return own === undefined
      ? { ...meta, declaredVersion: version }
      : { ...meta, inputs: own.input, outputs: own.output, declaredVersion: version };
  }
  throw new AigesError(Codes.SERVICE_NOT_FOUND, `model ${named(meta.service)} has no version ${named(version)}`, {
    detail: { service: meta.service, version },
  });
}

/** The version a request passes to the plugin: only for a wrapper that serves several. */
export function requestVersion(meta: ServiceMetadata): string | undefined {
  return meta.versions === undefined ? undefined : modelVersion(meta);
}

function tensorMetadata(items: ServiceMetadata['inputs']): TensorMetadata[] {
  const out: TensorMetadata[] = [];
  // NOTE: the wildcard key "*" names no tensor: a model that takes any key lists only its others.
  for (const [name, spec] of Object.entries(items)) {
    if (name === '*') continue;
    out.push(
      spec.datatype === undefined
        ? { name, datatype: 'BYTES', shape: [1] }
        : { name, datatype: spec.datatype, shape: [...(spec.shape ?? [-1])] },
    );
  }
  return out;
}

export function modelMetadata(meta: ServiceMetadata): ModelMetadata {
  return {
    name: meta.service,
    versions: meta.versions === undefined ? [modelVersion(meta)] : [...meta.versions],
    platform: PLATFORM,
    inputs: tensorMetadata(meta.inputs),
    outputs: tensorMetadata(meta.outputs),
  };
}

/** Triton's model configuration, as far as a plugin's schema tells one. */
export interface ModelConfig {
  name: string;
  platform: string;
  /** 0: the loader does not batch, dims are whole shapes; else dims leave out the batch dimension (Triton's rule). */
  maxBatchSize: number;
  input: ConfigTensor[];
  output: ConfigTensor[];
}

/** A tensor of a model configuration: Triton's DataType name (BYTES is TYPE_STRING) and dims. */
export interface ConfigTensor {
  name: string;
  dataType: ConfigDataType;
  dims: number[];
}

/** The model configuration gRPC ModelConfig answers: the metadata's tensors in Triton's terms. */
export function modelConfig(meta: ServiceMetadata): ModelConfig {
  const batched = meta.maxBatchSize > 0;
  const config = (t: TensorMetadata): ConfigTensor => ({
    name: t.name,
    dataType: (t.datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${t.datatype}`) as ConfigDataType,
    dims: batched ? t.shape.slice(1) : t.shape,
  });
  return {
    name: meta.service,
    platform: PLATFORM,
    maxBatchSize: meta.maxBatchSize,
    input: tensorMetadata(meta.inputs).map(config),
    output: tensorMetadata(meta.outputs).map(config),
  };
}

/** The schema's spec of an input key (the wildcard's for an undeclared key). */
function specOf(items: ServiceMetadata['inputs'], key: string): ItemSpec | undefined {
  return Object.hasOwn(items, key) ? items[key] : Object.hasOwn(items, '*') ? items['*'] : undefined;
}

function parameterString(path: string, value: ParameterValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  throw new AigesError(Codes.INVALID_PARAM, `${path} must be a string, number or boolean`, { detail: { field: path } });
}

/** An input tensor → the item the data plane gets. */
export function inputItem(meta: ServiceMetadata, tensor: InputTensor): DataItem {
  const spec = specOf(meta.inputs, tensor.name);
  let encoding = '';
  const attributes: Record<string, string> = {};
  for (const name in tensor.parameters) {
    if (name === 'binary_data_size') continue;
    const value = parameterString(`input ${tensor.name} parameter ${name}`, tensor.parameters[name] as ParameterValue);
    if (name === 'encoding') encoding = value;
    else if (name !== '__proto__') attributes[name] = value;
  }
  const item: DataItem = {
    key: tensor.name,
    type: spec === undefined ? DataType.OTHER : DATA_TYPE_BY_NAME[spec.type],
    status: DataStatus.ONCE,
    encoding,
    attributes,
    data: tensor.data,
  };
  if (spec?.datatype === undefined && tensor.datatype === 'BYTES' && elementCount(tensor.shape) === 1) {
    // The framing was checked when the tensor was read: one element, its bytes after the length.
    item.data = (bytesElements(tensor.data) as Buffer[])[0] as Buffer;
  } else item.tensor = { datatype: tensor.datatype, shape: tensor.shape };
  return item;
}

/** An output item → its tensor. */
export function outputTensor(item: DataItem): OutputTensor {
  const parameters: Record<string, string> = {};
  if (item.encoding !== '') parameters['encoding'] = item.encoding;
  for (const name in item.attributes) parameters[name] = item.attributes[name] as string;
  if (item.tensor === undefined) return { name: item.key, datatype: 'BYTES', shape: [1], parameters, elements: [item.data] };
  const datatype = datatypeOf(item.key, item.tensor.datatype);
  return { name: item.key, datatype, shape: item.tensor.shape, parameters, data: item.data };
}

/** Request parameters → the plugin's params (strings, as on every wire), without the reserved ones. */
export function requestParams(parameters: Readonly<Record<string, ParameterValue>>, id: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name in parameters) {
    if (isReservedParameter(name) || name === '__proto__') continue;
    params[name] = parameterString(`parameter ${name}`, parameters[name] as ParameterValue);
  }
  // The V2 request id is the call's sid (AIGes's request id): it comes back as the answer's id.
  if (id !== '') params['sid'] = id;
  return params;
}

/** The deadline Triton's `timeout` parameter (microseconds) sets, if any. */
export function timeoutDeadline(parameters: Readonly<Record<string, ParameterValue>>): number | undefined {
  if (!Object.hasOwn(parameters, 'timeout')) return undefined;
  const us = Number(parameters['timeout']);
  if (!Number.isSafeInteger(us) || us <= 0) {
    throw new AigesError(Codes.INVALID_DATA, 'parameter timeout must be a positive integer (microseconds)');
  }
  return Date.now() + Math.ceil(us / 1000);
}

/** Checks the requested outputs name outputs the model declares (any name when it takes "*"). */
export function checkRequestedOutputs(meta: ServiceMetadata, names: readonly string[]): void {
  if (Object.hasOwn(meta.outputs, '*')) return;
  for (const name of names) {
    if (!Object.hasOwn(meta.outputs, name)) {
      throw new AigesError(Codes.INVALID_PARAM, `model ${named(meta.service)} has no output ${named(name)}`, { detail: { output: name } });
    }
  }
}

const SEQUENCE_PARAMETERS = ['sequence_id', 'sequence_start', 'sequence_end'] as const;

/** Sessions (sequence parameters) ride on gRPC ModelStreamInfer only. */
export function refuseSequence(parameters: Readonly<Record<string, ParameterValue>>, where: string): void {
  for (const name of SEQUENCE_PARAMETERS) {
    if (Object.hasOwn(parameters, name)) {
      throw new AigesError(
        Codes.INVALID_SESSION_MODE,
        `${where} carries once calls only: sessions (${name}) go over gRPC ModelStreamInfer`,
      );
    }
  }
}
