/**
 * The OpenAPI 3.1 document of the HTTP surface, built from the served plugin's schema: the
 * `/v1/private/{service}` request names the service's params under `parameter.<service>` and its
 * input keys under `payload`; the response names its output keys. Rebuilt on each request, so
 * it follows a hot-reloaded plugin.
 */
import type { ServiceMetadata } from '../dataplane/dataplane.js';
import type { JsonSchema } from '../plugin/schema.js';
import { DATA_TYPE_BY_NAME, type ItemSpec } from '../../plugins/types.js';
import { DATA_FIELDS } from './http-convert.js';
import { TIMEOUT_HEADER } from './http-private.js';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const STATUS = { type: 'integer', enum: [0, 1, 2, 3], description: '0 begin, 1 continue, 2 end, 3 once.' };

/** One payload entry: the base64 field named by the item's type, plus format attributes. */
function itemSchema(spec: ItemSpec, side: 'input' | 'output'): JsonSchema {
  const field = DATA_FIELDS[DATA_TYPE_BY_NAME[spec.type]];
  const encodings = spec.encodings ?? [];
  return {
    type: 'object',
    description: [spec.description, `${spec.type} item; bytes base64-encoded in "${field}".`].filter(Boolean).join(' '),
    properties: {
      encoding: { type: 'string', ...(encodings.length > 0 ? { enum: [...encodings] } : {}) },
      status: STATUS,
      seq: { type: 'integer', minimum: 0 },
      [field]: { type: 'string', contentEncoding: 'base64' },
    },
    required: side === 'input' ? [field] : [field, 'encoding', 'status', 'seq'],
    additionalProperties: {
      type: ['string', 'number', 'boolean'],
      description: 'Format attributes (sample_rate, channels, width, ...), passed as strings.',
    },
  };
}

function payloadSchema(items: Readonly<Record<string, ItemSpec>>, side: 'input' | 'output'): JsonSchema {
  const properties = Object.fromEntries(Object.entries(items).map(([key, spec]) => [key, itemSchema(spec, side)]));
  const required = side === 'input' ? Object.keys(items).filter((k) => items[k]?.required !== false) : [];
  return {
    type: 'object',
    properties,
    additionalProperties: false,
    ...(required.length > 0 ? { required, description: 'Keys in "required" are needed in once mode.' } : {}),
  };
}

/** The service's params, plus an optional format object per output key (AIGes style). */
function parameterSchema(meta: ServiceMetadata): JsonSchema {
  const params = meta.paramsSchema;
  const formats = Object.fromEntries(
    Object.keys(meta.outputs).map((key) => [
      key,
      {
        type: 'object',
        description: `Requested format of output "${key}"; passed to the plugin as request headers "${key}.<field>".`,
        properties: { encoding: { type: 'string' }, compress: { type: 'string' }, format: { type: 'string' } },
      },
    ]),
  );
  return {
    ...params,
    description: 'Params; values may be sent as JSON scalars or strings and are coerced to the declared types.',
    properties: { ...formats, ...(params['properties'] as JsonSchema | undefined) },
  };
}

export function buildOpenApi(meta: ServiceMetadata, options: { maxMessageBytes: number }): JsonSchema {
  const s = meta.service;
  const error = {
    description: 'Error; the HTTP status follows the AIGes code (also in header aiges-code).',
    content: json(ref('ErrorResponse')),
  };
  return {
    openapi: '3.1.0',
    info: { title: `${s} — aiges-ts`, version: meta.version, description: meta.description },
    paths: {
      '/v1/private/{service}': {
        post: {
          operationId: 'call',
          summary: `Call ${s} (AIGes public JSON protocol)`,
          description:
            `Once mode: header.status 3 or absent. Session mode (${meta.supportsSession ? 'supported' : 'not supported'}): ` +
            'status 0 opens (answer carries the sid), 1 continues and 2 ends the session with the same header.sid; ' +
            `each answer carries the results produced since the last. Decoded payload at most ${options.maxMessageBytes} bytes.`,
          parameters: [
            { name: 'service', in: 'path', required: true, schema: { type: 'string', enum: [s] } },
            {
              name: TIMEOUT_HEADER,
              in: 'header',
              required: false,
              schema: { type: 'integer', minimum: 1 },
              description: 'Deadline in milliseconds.',
            },
          ],
          requestBody: { required: true, content: json(ref('Request')) },
          responses: { '200': { description: 'Results.', content: json(ref('Response')) }, default: error },
        },
      },
      '/v1/metadata': { get: { operationId: 'metadata', responses: { '200': { description: 'The service schema.' }, default: error } } },
      '/v2/health/live': {
        get: { operationId: 'live', responses: { '200': { description: 'Live.' }, '503': { description: 'Stopped.' } } },
      },
      '/v2/health/ready': {
        get: { operationId: 'ready', responses: { '200': { description: 'Ready.' }, '503': { description: 'Not ready.' } } },
      },
      '/metrics': { get: { operationId: 'metrics', responses: { '200': { description: 'Prometheus text exposition.' } } } },
    },
    components: {
      schemas: {
        Request: {
          type: 'object',
          required: ['payload'],
          properties: {
            header: {
              type: 'object',
              properties: { app_id: { type: 'string' }, uid: { type: 'string' }, status: STATUS, sid: { type: 'string' } },
              additionalProperties: { type: ['string', 'number', 'boolean'] },
            },
            parameter: { type: 'object', properties: { [s]: parameterSchema(meta) }, additionalProperties: false },
            payload: payloadSchema(meta.inputs, 'input'),
          },
        },
        Response: {
          type: 'object',
          required: ['header', 'payload'],
          properties: {
            header: {
              type: 'object',
              required: ['code', 'message', 'sid', 'status'],
              properties: { code: { const: 0 }, message: { type: 'string' }, sid: { type: 'string' }, status: STATUS },
            },
            payload: payloadSchema(meta.outputs, 'output'),
          },
        },
        ErrorResponse: {
          type: 'object',
          required: ['header'],
          properties: {
            header: {
              type: 'object',
              required: ['code', 'message', 'sid'],
              properties: { code: { type: 'integer' }, message: { type: 'string' }, sid: { type: 'string' } },
            },
          },
        },
      },
    },
  };
}
