/**
 * Compiles a wrapper's declared schema into the checks run on every request before the plugin
 * sees it, and into the JSON Schema that Metadata and the OpenAPI document publish.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { AigesError, Codes, named } from '../errors.js';
import {
  DATA_TYPE_BY_NAME,
  type DataStatus,
  type DataItem,
  type DataType,
  type ItemSpec,
  type OutputItem,
  type Params,
  type ParamSpec,
  type WrapperSchema,
} from '../../plugins/types.js';
import { isTensorDatatype, TENSOR_DATATYPES, tensorDataProblem } from '../../plugins/tensor.js';

export interface JsonSchema {
  [key: string]: unknown;
}

/** The wildcard key: in input, output or params it admits any other key (of any item type). */
export const ANY_KEY = '*';

/** The params object's JSON Schema (values typed; on the wire every value is a string). */
export function paramsJsonSchema(params: WrapperSchema['params']): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(params ?? {})) {
    if (name === ANY_KEY || name === 'sid') continue;
    properties[name] = paramJsonSchema(spec);
    if (spec.required === true && spec.default === undefined) required.push(name);
  }
  // The request id is the loader's: a plugin cannot redefine it.
  properties['sid'] = { type: 'string', description: 'Request id; set by the loader when absent.' };
  const any = params?.[ANY_KEY];
  return { type: 'object', properties, required, additionalProperties: any === undefined ? false : paramJsonSchema(any) };
}

function paramJsonSchema(spec: ParamSpec): JsonSchema {
  const { required: _required, ...rest } = spec;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

/**
 * Ajv keyword for number and integer params: "Infinity" and "1e400" coerce to numbers, and ajv
 * skips minimum and maximum for numbers that are not finite.
 */
const FINITE = 'x-finite';

/** The schema params are checked against: the published one, with every number param finite. */
function paramsCheckSchema(published: JsonSchema): JsonSchema {
  const finite = (spec: unknown): unknown =>
    typeof spec === 'object' && spec !== null && ['number', 'integer'].includes((spec as JsonSchema)['type'] as string)
      ? { ...spec, [FINITE]: true }
      : spec;
  const properties = Object.fromEntries(Object.entries(published['properties'] as JsonSchema).map(([k, v]) => [k, finite(v)]));
  return { ...published, properties, additionalProperties: finite(published['additionalProperties']) };
}

const TYPE_NAMES = Object.fromEntries(Object.entries(DATA_TYPE_BY_NAME).map(([n, v]) => [v, n])) as Record<number, string>;

/** Whether `params` holds no key but a string `sid` (or nothing). */
function onlySid(params: Readonly<Record<string, unknown>>): boolean {
  for (const key in params) if (key !== 'sid' || typeof params[key] !== 'string') return false;
  return true;
}

export class CompiledSchema {
  readonly #validateParams: ValidateFunction;
  readonly #input: ReadonlyMap<string, { type: DataType; spec: ItemSpec }>;
  readonly #output: ReadonlyMap<string, { type: DataType; spec: ItemSpec }>;
  readonly #requiredInputs: readonly string[];
  readonly paramsSchema: JsonSchema;
  /** No param is required: a request with no param but sid needs no check, only the defaults. */
  readonly #noneRequired: boolean;
  readonly #defaults: Readonly<Record<string, unknown>>;

  constructor(readonly schema: WrapperSchema) {
    this.paramsSchema = paramsJsonSchema(schema.params);
    const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: true });
    // No `type` on the keyword: ajv applies a number keyword to finite numbers only.
    ajv.addKeyword({
      keyword: FINITE,
      schemaType: 'boolean',
      validate: (_: boolean, n: unknown) => typeof n !== 'number' || Number.isFinite(n),
    });
    this.#validateParams = ajv.compile(paramsCheckSchema(this.paramsSchema));
    checkDefaults(ajv, schema.params);
    const declared = Object.entries(schema.params ?? {}).filter(([name]) => name !== ANY_KEY && name !== 'sid');
    this.#noneRequired = declared.every(([, spec]) => spec.required !== true || spec.default !== undefined);
    // The defaults as the validator inserts them (coerced to their declared types).
    const defaults: Record<string, unknown> = {};
    if (this.#noneRequired) this.#validateParams(defaults);
    this.#defaults = defaults;
    this.#input = compileItems(schema.input, 'input');
    this.#output = compileItems(schema.output, 'output');
    this.#requiredInputs = [...this.#input].filter(([k, v]) => k !== ANY_KEY && v.spec.required !== false).map(([k]) => k);
  }

  /**
   * Coerces string params to their declared types and fills defaults; rejects the rest. Returns a
   * new object (`raw` is not changed), with `sid` set as param `sid` when given.
   */
  params(raw: Readonly<Record<string, string>>, sid?: string): Params {
    // NOTE: Object.assign, not object spread: V8 copies a spread object of another shape key by
    // key through a slow path, assign takes a fast one. The no-param case skips ajv, whose call
    // costs something even for an empty schema (BENCHMARKS.md has the measurements).
    if (this.#noneRequired && onlySid(raw)) {
      const params: Record<string, unknown> = Object.assign({}, this.#defaults, raw);
      if (sid !== undefined) params['sid'] = sid;
      return params as Params;
    }
    const params: Record<string, unknown> = Object.assign({}, raw);
    if (sid !== undefined) params['sid'] = sid;
    if (!this.#validateParams(params)) throw paramError(this.#validateParams.errors ?? []);
    return params as Params;
  }

  /**
   * Checks items against the input schema: known keys, declared types and encodings, no key
   * twice; with `complete`, every required key present (once mode).
   */
  inputItems(items: readonly DataItem[], complete: boolean): void {
    // A session frame may repeat a key and need not be complete: nothing to remember then. A few
    // items are compared with the ones before them; a Set is worth its cost only for many.
    const seen = complete && items.length > FEW_ITEMS ? new Set<string>() : undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as DataItem;
      const declared = this.#input.get(item.key);
      const decl = declared ?? this.#input.get(ANY_KEY);
      if (decl === undefined) {
        throw new AigesError(Codes.INVALID_PARAM, `unknown input key ${named(item.key)}`, { detail: { key: item.key } });
      }
      if (complete && (seen === undefined ? keyBefore(items, i) : seen.has(item.key))) {
        throw new AigesError(Codes.INVALID_PARAM, `input key ${named(item.key)} given twice`, { detail: { key: item.key } });
      }
      seen?.add(item.key);
      if (declared !== undefined && item.type !== decl.type) {
        throw new AigesError(
          Codes.INVALID_PARAM,
          `input ${named(item.key)} must have type ${decl.spec.type}, got ${TYPE_NAMES[item.type] ?? item.type}`,
          { detail: { key: item.key } },
        );
      }
      const encodings = decl.spec.encodings;
      if (encodings !== undefined && encodings.length > 0 && item.encoding !== '' && !encodings.includes(item.encoding)) {
        throw new AigesError(
          Codes.INVALID_PARAM_VALUE,
          `input ${named(item.key)} encoding ${named(item.encoding)} is not one of: ${encodings.join(', ')}`,
          { detail: { key: item.key } },
        );
      }
      if (decl.spec.datatype !== undefined) checkTensor(item, decl.spec);
    }
    if (complete && this.#requiredInputs.length > 0) {
      const missing = this.#requiredInputs.filter((k) => (seen === undefined ? !items.some((item) => item.key === k) : !seen.has(k)));
      if (missing.length > 0) {
        throw new AigesError(Codes.INVALID_PARAM, `missing input key(s): ${missing.join(', ')}`, { detail: { missing } });
      }
    }
  }

  /** The type declared for input `key` (or for "*"); undefined when neither is declared. */
  inputType(key: string): DataType | undefined {
    return (this.#input.get(key) ?? this.#input.get(ANY_KEY))?.type;
  }

  /** Turns a plugin's output into full items, checked against the output schema. */
  outputItems(items: unknown, defaultStatus: DataStatus): DataItem[] {
    if (!Array.isArray(items)) {
      throw new AigesError(Codes.INVALID_OUTPUT, 'plugin output must be an array of items');
    }
    return items.map((raw: OutputItem) => {
      if (typeof raw !== 'object' || raw === null || typeof raw.key !== 'string') {
        throw new AigesError(Codes.INVALID_OUTPUT, 'plugin output item must be an object with a string key');
      }
      const decl = this.#output.get(raw.key) ?? this.#output.get(ANY_KEY);
      if (decl === undefined) {
        throw new AigesError(Codes.INVALID_OUTPUT, `plugin produced undeclared output key ${named(raw.key)}`);
      }
      const item: DataItem = {
        key: raw.key,
        type: raw.type ?? decl.type,
        status: raw.status ?? defaultStatus,
        encoding: raw.encoding ?? decl.spec.encodings?.[0] ?? '',
        attributes: raw.attributes ?? {},
        data: toBuffer(raw.data, raw.key),
      };
      if (raw.tensor !== undefined) item.tensor = raw.tensor;
      return item;
    });
  }
}

/** A default that breaks its own param's constraints would fail every request: refuse it at load. */
function checkDefaults(ajv: Ajv, params: WrapperSchema['params']): void {
  for (const [name, spec] of Object.entries(params ?? {})) {
    if (spec.default === undefined) continue;
    const { default: value, required: _r, ...constraints } = spec;
    const check = ajv.compile({ ...constraints });
    if (!check(value)) {
      throw new TypeError(`schema.params.${name}.default ${JSON.stringify(value)} ${check.errors?.[0]?.message ?? 'is invalid'}`);
    }
  }
}

/** Up to this many items, a request's keys are checked for repeats by comparing each with the ones before it. */
const FEW_ITEMS = 8;

/** Whether the key of `items[i]` is the key of an item before it. */
function keyBefore(items: readonly DataItem[], i: number): boolean {
  const key = (items[i] as DataItem).key;
  for (let j = 0; j < i; j++) if ((items[j] as DataItem).key === key) return true;
  return false;
}

function toBuffer(data: unknown, key: string): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data === undefined || data === null) return Buffer.alloc(0);
  throw new AigesError(Codes.INVALID_OUTPUT, `output ${named(key)} data must be a Buffer, Uint8Array or string`);
}

function compileItems(items: Readonly<Record<string, ItemSpec>>, side: string) {
  const out = new Map<string, { type: DataType; spec: ItemSpec }>();
  for (const [key, spec] of Object.entries(items)) {
    const type = DATA_TYPE_BY_NAME[spec.type];
    if (type === undefined) {
      throw new TypeError(`schema.${side}.${key}.type must be one of ${Object.keys(DATA_TYPE_BY_NAME).join(', ')}`);
    }
    compileTensorSpec(spec, `schema.${side}.${key}`);
    out.set(key, { type, spec });
  }
  return out;
}

/** A tensor declaration that no tensor could meet fails the plugin's load. */
function compileTensorSpec(spec: ItemSpec, path: string): void {
  if (spec.datatype === undefined) {
    if (spec.shape !== undefined) throw new TypeError(`${path}.shape needs a datatype`);
    return;
  }
  if (!isTensorDatatype(spec.datatype)) {
    throw new TypeError(`${path}.datatype must be one of ${Object.keys(TENSOR_DATATYPES).join(', ')}`);
  }
  if (spec.shape !== undefined && (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isSafeInteger(d) && d >= -1))) {
    throw new TypeError(`${path}.shape must be a list of sizes (integers ≥ 0, or -1 for any size)`);
  }
}

/** An input declared as a tensor: the item carries one of that datatype and shape, its data sized to match. */
function checkTensor(item: DataItem, spec: ItemSpec): void {
  const tensor = item.tensor;
  const datatype = spec.datatype as NonNullable<ItemSpec['datatype']>;
  const fail = (what: string) => new AigesError(Codes.INVALID_PARAM, `input ${named(item.key)} ${what}`, { detail: { key: item.key } });
  if (tensor === undefined) throw fail(`must be a ${datatype} tensor`);
  if (tensor.datatype !== datatype) throw fail(`must be a ${datatype} tensor, got ${named(String(tensor.datatype))}`);
  const shape = spec.shape;
  if (shape !== undefined) {
    const fits = tensor.shape.length === shape.length && shape.every((d, i) => d === -1 || d === tensor.shape[i]);
    if (!fits) throw fail(`must have shape [${shape.join(',')}], got [${tensor.shape.join(',')}]`);
  }
  const problem = tensorDataProblem(datatype, tensor.shape, item.data);
  if (problem !== undefined)
    throw new AigesError(Codes.INVALID_DATA, `input ${named(item.key)}: ${problem}`, { detail: { key: item.key } });
}

function paramError(errors: readonly ErrorObject[]): AigesError {
  const e = errors[0];
  if (e === undefined) return new AigesError(Codes.INVALID_PARAM, 'invalid params');
  const name = e.instancePath.replace(/^\//, '');
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      return new AigesError(Codes.INVALID_PARAM, `unknown param ${named(key)}`, { detail: { param: key } });
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return new AigesError(Codes.INVALID_PARAM, `missing param ${named(key)}`, { detail: { param: key } });
    }
    case 'type':
      return new AigesError(Codes.INVALID_PARAM, `param ${named(name)} ${e.message ?? 'has the wrong type'}`, {
        detail: { param: name },
      });
    case FINITE:
      return new AigesError(Codes.INVALID_PARAM_VALUE, `param ${named(name)} must be a finite number`, { detail: { param: name } });
    default:
      return new AigesError(Codes.INVALID_PARAM_VALUE, `param ${named(name)} ${e.message ?? 'is invalid'}`, {
        detail: { param: name },
      });
  }
}
