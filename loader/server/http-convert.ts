/**
 * AIGes public JSON ↔ domain conversion for the HTTP adapter (no request logic here).
 *
 * Request  `{ header: {app_id, uid, status, sid}, parameter: {<service>: {k: v}}, payload: {<key>: {encoding, status, seq, text|audio|image|video|data: <base64>, ...attributes}} }`
 * Response `{ header: {code, message, sid, status}, payload: {<key>: {encoding, status, seq, <field>: <base64>, ...attributes}} }`
 *
 * Shape problems are 10009 (INVALID_DATA) and param problems 10106 (INVALID_PARAM), each naming
 * the offending field; whether keys, types and values suit the plugin is the data plane's check.
 */
import { AigesError, Codes, named } from '../errors.js';
import { DataStatus, DataType, type DataItem } from '../../plugins/types.js';

/** The payload field holding an item's base64 bytes, by item type (AIGes names; OTHER uses `data`). */
export const DATA_FIELDS: Readonly<Record<DataType, string>> = {
  [DataType.TEXT]: 'text',
  [DataType.AUDIO]: 'audio',
  [DataType.IMAGE]: 'image',
  [DataType.VIDEO]: 'video',
  [DataType.OTHER]: 'data',
};

/** The item type of a payload data field. */
export const TYPE_BY_FIELD: ReadonlyMap<string, DataType> = new Map(
  Object.entries(DATA_FIELDS).map(([type, field]) => [field, Number(type) as DataType]),
);
const FIELD_NAMES: readonly string[] = [...TYPE_BY_FIELD.keys()];

/** Payload item fields that are not attributes. */
const RESERVED_FIELDS = new Set(['encoding', 'status', 'seq', ...TYPE_BY_FIELD.keys()]);

/** A parsed request; params and headers are strings as on every wire. */
export interface JsonRequest {
  /** header.status: ONCE when absent. */
  status: DataStatus;
  /** header.sid, '' when absent. Also set as param `sid`. */
  sid: string;
  params: Record<string, string>;
  /** header fields other than status and sid (app_id, uid, ...), and output formats as `<key>.<field>`. */
  headers: Record<string, string>;
  items: DataItem[];
}

export interface JsonPayloadItem {
  encoding: string;
  status: number;
  seq: number;
  [field: string]: string | number;
}

type Json = Record<string, unknown>;

function invalid(field: string, what: string, code: typeof Codes.INVALID_DATA | typeof Codes.INVALID_PARAM = Codes.INVALID_DATA) {
  return new AigesError(code, `${field} ${what}`, { detail: { field } });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A plugin's output key `__proto__` (a wildcard output schema) is set as an own key. Requests
 * never hold one: the body parser refuses `__proto__` (http-errors.ts).
 */
const PROTO = '__proto__';

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** An optional object field: absent or null → {}. */
function objectField(parent: Json, name: string, path: string): Json {
  // Own keys only: a name like "constructor" must not find Object.prototype's.
  const v = Object.hasOwn(parent, name) ? parent[name] : undefined;
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw invalid(path, 'must be an object');
  return v;
}

function statusField(v: unknown, path: string): DataStatus | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 3) {
    throw invalid(path, 'must be 0 (begin), 1 (continue), 2 (end) or 3 (once)');
  }
  return v as DataStatus;
}

/** The sid a body carries, if it is well formed enough to tell (for error responses). */
export function peekSid(body: unknown): string {
  const header = isObject(body) ? body['header'] : undefined;
  const sid = isObject(header) ? header['sid'] : undefined;
  return typeof sid === 'string' ? sid : '';
}

/** Parses and checks the shape of a `/v1/private/:service` request body. */
export function parseRequest(body: unknown, service: string): JsonRequest {
  if (!isObject(body)) throw invalid('request body', 'must be a JSON object');
  const header = objectField(body, 'header', 'header');
  const status = statusField(header['status'], 'header.status') ?? DataStatus.ONCE;
  const sid = header['sid'] ?? '';
  if (typeof sid !== 'string') throw invalid('header.sid', 'must be a string');

  // NOTE: for-in rather than Object.entries on this per-call path (no pair arrays); JSON objects
  // have only own enumerable keys.
  const headers: Record<string, string> = {};
  for (const name in header) {
    const value = header[name];
    if (name === 'status' || name === 'sid' || value === null) continue;
    if (!isScalar(value)) throw invalid(`header.${name}`, 'must be a string, number or boolean');
    headers[name] = String(value);
  }

  const params: Record<string, string> = {};
  const parameter = objectField(body, 'parameter', 'parameter');
  for (const name in parameter) {
    if (name !== service) throw invalid(`parameter.${name}`, `does not name the service ${named(service)}`, Codes.INVALID_PARAM);
  }
  const serviceParams = objectField(parameter, service, `parameter.${service}`);
  for (const name in serviceParams) {
    const value = serviceParams[name];
    if (value === null) continue;
    const path = `parameter.${service}.${name}`;
    if (isScalar(value)) params[name] = String(value);
    else if (isObject(value)) {
      // AIGes puts an output's format here: {encoding, compress, format} → headers "<key>.<field>".
      for (const field in value) {
        const v = value[field];
        if (!isScalar(v)) throw invalid(`${path}.${field}`, 'must be a string, number or boolean', Codes.INVALID_PARAM);
        headers[`${name}.${field}`] = String(v);
      }
    } else throw invalid(path, 'must be a string, number, boolean or an output format object', Codes.INVALID_PARAM);
  }
  if (sid !== '') params['sid'] = sid;

  const payload = objectField(body, 'payload', 'payload');
  const items: DataItem[] = [];
  for (const key in payload) items.push(parseItem(key, payload[key], status));
  return { status, sid, params, headers, items };
}

function parseItem(key: string, value: unknown, defaultStatus: DataStatus): DataItem {
  const path = `payload.${key}`;
  if (!isObject(value)) throw invalid(path, 'must be an object');
  let field: string | undefined;
  let count = 0;
  for (const f of FIELD_NAMES) {
    if (value[f] !== undefined && value[f] !== null) {
      field ??= f;
      count++;
    }
  }
  if (field === undefined || count !== 1) {
    const given = FIELD_NAMES.filter((f) => value[f] !== undefined && value[f] !== null);
    const what = given.length === 0 ? 'has no data field' : `has more than one data field (${given.join(', ')})`;
    throw invalid(path, `${what}: give exactly one of text, audio, image, video, data`);
  }
  const encoding = value['encoding'] ?? '';
  if (typeof encoding !== 'string') throw invalid(`${path}.encoding`, 'must be a string');
  const seq = value['seq'];
  if (seq !== undefined && seq !== null && (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0)) {
    throw invalid(`${path}.seq`, 'must be a non-negative integer');
  }
  const attributes: Record<string, string> = {};
  for (const name in value) {
    const v = value[name];
    if (RESERVED_FIELDS.has(name) || v === null) continue;
    if (!isScalar(v)) throw invalid(`${path}.${name}`, 'must be a string, number or boolean');
    attributes[name] = String(v);
  }
  return {
    key,
    type: TYPE_BY_FIELD.get(field) as DataType,
    status: statusField(value['status'], `${path}.status`) ?? defaultStatus,
    encoding,
    attributes,
    data: decodeBase64(value[field], `${path}.${field}`),
  };
}

/**
 * Decodes standard or URL-safe base64, padding optional. Node's decoder skips characters outside
 * the alphabet silently; each one skipped shortens the output, so comparing the decoded length with
 * the length the text implies catches bad input without a per-character scan in JS.
 */
function decodeBase64(value: unknown, path: string): Buffer {
  if (typeof value !== 'string') throw invalid(path, 'must be a base64 string');
  const pad = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  const chars = value.length - pad;
  if (chars % 4 === 1 || (pad > 0 && value.length % 4 !== 0)) throw invalid(path, 'is not valid base64');
  const data = Buffer.from(value, 'base64');
  if (data.length !== Math.floor((chars * 3) / 4)) throw invalid(path, 'is not valid base64');
  return data;
}

/**
 * Items → a response payload keyed by output key. An entry's `seq` is its item's 0-based number
 * among the items of its key: `totals` holds, per key, the items a session delivered so far (these
 * included); without it (a once call) it is 0.
 *
 * The AIGes shape has one entry per key, so an answer holds at most one item of a key: a session's
 * answer gets that from the data plane (`onePerKey`: the next request takes the rest), and a once
 * output that repeats a key cannot be sent on this wire (10203; docs/http.md).
 */
export function toPayload(items: readonly DataItem[], totals?: ReadonlyMap<string, number>): Record<string, JsonPayloadItem> {
  const payload: Record<string, JsonPayloadItem> = {};
  for (const item of items) {
    if (Object.hasOwn(payload, item.key)) {
      throw new AigesError(
        Codes.INVALID_OUTPUT,
        `output key ${named(item.key)} appears more than once: AIGes's JSON answer has one entry per key (give each item its own key, or call over gRPC)`,
      );
    }
    const entry = payloadEntry(item, totals);
    if (item.key === PROTO) Object.defineProperty(payload, PROTO, { value: entry, enumerable: true, writable: true });
    else payload[item.key] = entry;
  }
  return payload;
}

function payloadEntry(item: DataItem, totals: ReadonlyMap<string, number> | undefined): JsonPayloadItem {
  const entry: JsonPayloadItem = { encoding: item.encoding, status: item.status, seq: (totals?.get(item.key) ?? 1) - 1 };
  const attributes = item.attributes;
  for (const name in attributes) if (!RESERVED_FIELDS.has(name)) entry[name] = attributes[name] as string;
  entry[DATA_FIELDS[item.type] ?? 'data'] = item.data.toString('base64');
  return entry;
}
