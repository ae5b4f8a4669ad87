/**
 * Fuzzing the HTTP adapter with fast-check against a real loader (echo) on port 0, through a real
 * undici client and raw TCP: `POST /v1/private/<service>` (once and session steps) with
 * well-formed requests of random shape, valid AIGes requests mutated by JSON path, arbitrary JSON, arbitrary bytes, other content types,
 * methods, paths and headers; and arbitrary bytes as the HTTP request itself.
 *
 * Properties: every answer is under 500 or carries `aiges-code` with a JSON body of that code
 * (errors.md: every error of the loader has its code; checked for every status from 400); the
 * loader serves a valid request afterwards, reports ready with nothing in flight, and its open
 * handles and memory come back to where they were (test/lib/fuzz.ts).
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { expectBackTo, type Footprint, footprint, FUZZ_RUNS } from '../lib/fuzz.js';
import { call, get, startLoader, textBody } from './http-helpers.js';

const MAX_MESSAGE_BYTES = 4096;

let loader: Loader;
let before: Footprint;
beforeAll(async () => {
  loader = await startLoader({
    // Sessions the fuzzer opens and leaves end on their own soon; capacity enough for all of them.
    limits: { capacity: 10_000, session_idle_timeout_ms: 300, max_message_bytes: MAX_MESSAGE_BYTES },
    server: { request_timeout_ms: 2_000 },
  });
  await call(loader, textBody('warm up'));
  before = footprint();
});
afterAll(async () => {
  await loader.stop();
});

/** After a fuzz run: a valid request works, health and load are back to idle, nothing leaked. */
async function expectHealthy(): Promise<void> {
  const res = await call(loader, textBody('still here'));
  expect(res.status).toBe(200);
  expect(Buffer.from(res.body.payload.text.text, 'base64').toString()).toBe('still here');
  expect((await get(loader, '/v2/health/ready')).status).toBe(200);
  await vi.waitFor(
    () => {
      expect(loader.dataplane.admission.inUse).toBe(0);
      expect(loader.dataplane.openSessions).toBe(0);
    },
    // NOTE: sessions the fuzzer opened end at limits.session_idle_timeout_ms (300 ms) after their last step.
    { timeout: 3_000 },
  );
  const metrics = (await get(loader, '/metrics')).body as string;
  expect(metrics).toMatch(/^aiges_inflight_requests\{service="echo"\} 0$/m);
  expect(metrics).toMatch(/^aiges_open_sessions\{service="echo"\} 0$/m);
  await expectBackTo(before);
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** The property every answer holds: under 400, or the loader's error shape with its code. */
function expectCoded(answer: Answer, method: string): void {
  if (answer.status < 400) return;
  const code = answer.headers['aiges-code'];
  expect(code, `HTTP ${answer.status} without aiges-code: ${answer.text.slice(0, 200)}`).toMatch(/^\d+$/);
  if (method === 'HEAD') return;
  const body = JSON.parse(answer.text) as { header?: { code?: unknown; message?: unknown } };
  expect(body.header?.code).toBe(Number(code));
  expect(typeof body.header?.message).toBe('string');
}

// ---- generators ----

const DANGEROUS = ['__proto__', 'constructor', 'prototype'];

/** A JSON value with own keys only (`__proto__` included), as JSON.stringify writes them. */
function withKey(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out = { ...object };
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

const jsonKey = fc.oneof(
  fc.constantFrom('header', 'parameter', 'payload', 'echo', 'text', 'status', 'sid', 'encoding', 'seq', 'data', 'audio', ...DANGEROUS),
  fc.string({ maxLength: 8 }),
);
const jsonLeaf = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(0, 1, 2, 3, 4, -1, 3.5, 1e308, '', 'utf8', 'aGk=', '!!notbase64', null, true),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** The valid once request with values replaced, keys added or removed along random paths. */
const mutatedRequest = fc
  .array(fc.tuple(fc.array(jsonKey, { minLength: 1, maxLength: 4 }), fc.option(jsonLeaf, { nil: undefined })), {
    minLength: 1,
    maxLength: 4,
  })
  .map((edits) => {
    let body: unknown = textBody('fuzz');
    const set = (node: unknown, path: readonly string[], value: unknown): unknown => {
      const [head, ...rest] = path as [string, ...string[]];
      const object = typeof node === 'object' && node !== null && !Array.isArray(node) ? (node as Record<string, unknown>) : {};
      if (rest.length === 0) {
        if (value !== undefined) return withKey(object, head, value);
        const { [head]: _gone, ...kept } = object;
        return kept;
      }
      return withKey(object, head, set(Object.hasOwn(object, head) ? object[head] : undefined, rest, value));
    };
    for (const [path, value] of edits) body = set(body, path, value);
    return JSON.stringify(body);
  });

/** A well-formed request of random shape: params, header fields, items of every type and attributes. */
const randomRequest = fc
  .record({
    status: fc.option(fc.constantFrom(0, 1, 2, 3), { nil: undefined }),
    header: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean())),
    params: fc.dictionary(
      fc.string({ maxLength: 6 }),
      fc.oneof(fc.string({ maxLength: 10 }), fc.double(), fc.boolean(), fc.record({ encoding: fc.string({ maxLength: 5 }) })),
    ),
    items: fc.dictionary(
      fc.oneof(fc.constantFrom('text', 'constructor', 'toString', 'a.b', ''), fc.string({ maxLength: 6 })),
      fc.record({
        field: fc.constantFrom('text', 'audio', 'image', 'video', 'data'),
        data: fc.uint8Array({ maxLength: 64 }),
        encoding: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
        status: fc.option(fc.integer({ min: -1, max: 4 }), { nil: undefined }),
        seq: fc.option(fc.integer({ min: -1, max: 2 ** 32 }), { nil: undefined }),
        attributes: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer())),
      }),
      { maxKeys: 4 },
    ),
  })
  .map((r) => {
    const payload: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(r.items)) {
      payload[key] = {
        ...item.attributes,
        encoding: item.encoding,
        status: item.status,
        seq: item.seq,
        [item.field]: Buffer.from(item.data).toString('base64'),
      };
    }
    return JSON.stringify({ header: { ...r.header, status: r.status }, parameter: { echo: r.params }, payload });
  });

/** A session step: status 0, 1 or 2 with a sid (made up, or none). */
const sessionStep = fc
  .record({ status: fc.constantFrom(0, 1, 2), sid: fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 10 })), { nil: undefined }) })
  .map(({ status, sid }) => JSON.stringify(textBody('step', { header: { status, ...(sid === undefined ? {} : { sid }) } })));

/** The valid body's text with characters replaced, inserted or cut. */
const mutatedText = fc
  .array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ unit: 'binary', maxLength: 3 })), { minLength: 1, maxLength: 4 })
  .map((edits) => {
    let text = JSON.stringify(textBody('fuzz'));
    for (const [at, cut, insert] of edits) {
      const i = at % (text.length + 1);
      text = text.slice(0, i) + insert + text.slice(i + cut);
    }
    return text;
  });

const body = fc.oneof(
  { weight: 4, arbitrary: randomRequest },
  { weight: 4, arbitrary: mutatedRequest },
  { weight: 2, arbitrary: sessionStep },
  { weight: 2, arbitrary: mutatedText },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  // Over the body limit (a base64 payload of more than max_message_bytes, or just bytes).
  {
    weight: 1,
    arbitrary: fc
      .nat({ max: 3 })
      .map((k) => (k === 0 ? JSON.stringify(textBody('x'.repeat(MAX_MESSAGE_BYTES + 1))) : 'y'.repeat(80_000 * k))),
  },
  { weight: 1, arbitrary: fc.constant('') },
);

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((s) => s.trim());
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      'application/JSON',
      'json',
      '',
    ),
    headerValue,
  ),
  { nil: undefined },
);
const timeoutHeader = fc.oneof(
  fc.constantFrom('1', '0', '-5', '10', '1000', '1e3', ' 20 ', '9007199254740993', '99999999999999999999', 'abc', ''),
  fc.nat().map(String),
);
const fuzzedHeaders = fc
  .record(
    {
      'content-type': contentType,
      'aiges-timeout-ms': timeoutHeader,
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
      accept: headerValue,
      authorization: headerValue,
      extra: fc.tuple(token, headerValue),
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...h }) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
    if (
      extra !== undefined &&
      !(extra[0] in out) &&
      !['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'keep-alive'].includes(extra[0])
    ) {
      out[extra[0]] = extra[1];
    }
    return out;
  });
/** Mostly what a client sends (so that bodies reach the data plane), else fuzzed. */
const headers = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }).map(
      (ms): Record<string, string> => ({
        'content-type': 'application/json',
        ...(ms === undefined ? {} : { 'aiges-timeout-ms': String(ms) }),
      }),
    ),
  },
  { weight: 2, arbitrary: fuzzedHeaders },
);

const path = fc.oneof(
  { weight: 8, arbitrary: fc.constant('/v1/private/echo') },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom(
        '/v1/private/',
        '/v1/private/nope',
        '/v1/private/echo/extra',
        '/v1/private/%65cho',
        '/v1/private/echo?x=1&x=2',
        '/v1/private/%E0%A4%A',
        '/v1/private/echo%00',
        '/v1/metadata?service=%ff',
        '/openapi.json?service[]=1',
        '/v2/health/ready',
        '/metrics',
        '//',
      ),
      fc.webPath(),
      fc.string({ maxLength: 20 }).map((s) => `/v1/private/${encodeURIComponent(s)}`),
    ),
  },
);
const method = fc.oneof(
  { weight: 8, arbitrary: fc.constant('POST') },
  { weight: 2, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') },
);

describe('HTTP under fuzzing', () => {
  it('every answer to fuzzed requests is under 500 or coded; the loader serves on and leaks nothing', async () => {
    const agent = new Agent({ connections: 4 });
    try {
      await fc.assert(
        fc.asyncProperty(method, path, headers, body, async (verb, target, h, payload) => {
          const withBody = verb !== 'GET' && verb !== 'HEAD';
          const res = await request(`http://127.0.0.1:${loader.httpPort}${target}`, {
            method: verb,
            headers: h,
            ...(withBody ? { body: payload } : {}),
            dispatcher: agent,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          expectCoded({ status: res.statusCode, headers: res.headers, text: await res.body.text() }, verb);
        }),
        { numRuns: FUZZ_RUNS * 3 },
      );
    } finally {
      await agent.close();
    }
    await expectHealthy();
  });

  it('arbitrary bytes as the HTTP request: every answer is coded, the connection ends, the loader serves on', async () => {
    const valid = `POST /v1/private/echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${JSON.stringify(textBody('r')).length}\r\n\r\n${JSON.stringify(textBody('r'))}`;
    const prefix = fc.constantFrom(
      '',
      valid,
      'POST /v1/private/echo HTTP/1.1\r\nhost: x\r\n',
      'POST /v1/private/echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n',
      'POST /v1/private/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n',
      'GET / HTTP/1.1\r\n',
      'GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n',
    );
    const noise = fc.oneof(
      fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.string({ unit: 'grapheme-ascii', maxLength: 100 }),
      fc.constantFrom('\r\n\r\n', `x-big: ${'q'.repeat(17_000)}\r\n\r\n`, '0\r\n\r\n', 'zz\r\n', '\0'),
    );
    await fc.assert(
      fc.asyncProperty(prefix, fc.array(noise, { maxLength: 3 }), async (head, rest) => {
        const text = await rawExchange(Buffer.from(head + rest.join(''), 'latin1'));
        for (const m of text.matchAll(/HTTP\/1\.1 (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n/g)) {
          const status = Number(m[1]);
          if (status >= 400) expect(m[2], `HTTP ${status} without aiges-code`).toMatch(/^aiges-code: \d+$/im);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
    await expectHealthy();
  });
});

/** Writes `bytes` on a fresh connection, half-closes it, and reads until the server closes it. */
function rawExchange(bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(loader.httpPort, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => resolve(text));
    socket.end(bytes);
  });
}
