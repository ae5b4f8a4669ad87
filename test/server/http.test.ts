/**
 * HTTP adapter: health, metrics, the AIGes JSON route in once mode, error mapping, OpenAPI.
 * Real loaders on port 0, real HTTP requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { bodyLimitOf } from '../../loader/server/http.js';
import { b64, call, expectError, get, startLoader, textBody, unb64, url } from './http-helpers.js';

let echo: Loader;
beforeAll(async () => {
  echo = await startLoader();
});
afterAll(async () => {
  await echo.stop();
});

describe('health and metrics', () => {
  it('is live and ready once started', async () => {
    expect((await get(echo, '/v2/health/live')).status).toBe(200);
    const ready = await get(echo, '/v2/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ready: true });
  });

  it('exposes Prometheus text with the calls counted', async () => {
    expect((await call(echo, textBody('count me'))).status).toBe(200);
    const res = await fetch(url(echo, '/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/aiges_requests_total\{service="echo",mode="once",code="0"\} [1-9]/);
    expect(text).toContain('aiges_capacity 64');
  });
});

describe('once mode', () => {
  it('echoes text and returns the AIGes response shape', async () => {
    const res = await call(echo, textBody('hello, 世界'));
    expect(res.status).toBe(200);
    expect(res.body.header).toMatchObject({ code: 0, message: 'success', status: 3 });
    expect(res.body.header.sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.payload.text).toMatchObject({ encoding: 'utf8', status: 3, seq: 0 });
    expect(unb64(res.body.payload.text.text)).toBe('hello, 世界');
    expect(res.headers.get('aiges-code')).toBeNull();
  });

  it('keeps the client sid', async () => {
    const res = await call(echo, textBody('x', { header: { sid: 'my-sid-1' } }));
    expect(res.body.header.sid).toBe('my-sid-1');
  });

  it('carries audio attributes both ways and takes the type from the data field', async () => {
    const pcm = Buffer.from([0, 1, 2, 3, 250, 255]);
    const res = await call(echo, {
      header: { app_id: 'a', status: 3 },
      payload: {
        audio: { encoding: 'raw', status: 3, seq: 0, sample_rate: 16000, channels: 1, lang: 'zh', audio: b64(pcm) },
        data: { encoding: 'bin', data: b64(Buffer.from('blob')) },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.payload.audio).toMatchObject({ encoding: 'raw', sample_rate: '16000', channels: '1', lang: 'zh' });
    expect(Buffer.from(res.body.payload.audio.audio, 'base64').equals(pcm)).toBe(true);
    expect(unb64(res.body.payload.data.data)).toBe('blob');
  });

  it('accepts params as JSON scalars or strings and coerces them', async () => {
    expect((await call(echo, textBody('a', { params: { delay_ms: 0 } }))).status).toBe(200);
    expect((await call(echo, textBody('a', { params: { delay_ms: '1' } }))).status).toBe(200);
  });

  it('rejects bad params with 10106 / 10107', async () => {
    expect(expectError(await call(echo, textBody('a', { params: { delay_ms: 'soon' } })), 400, 10106)).toContain('delay_ms');
    expect(expectError(await call(echo, textBody('a', { params: { delay_ms: 10_000_000 } })), 400, 10107)).toContain('delay_ms');
    expect(expectError(await call(echo, textBody('a', { params: { nope: 1 } })), 400, 10106)).toContain('nope');
    expect(expectError(await call(echo, textBody('a', { params: { delay_ms: [1] } })), 400, 10106)).toContain('parameter.echo.delay_ms');
    const other = { ...textBody('a'), parameter: { asr: {} } };
    expect(expectError(await call(echo, other), 400, 10106)).toContain('parameter.asr');
  });

  it('rejects an unknown input key and a type that does not match the schema', async () => {
    const unknown = { payload: { image: { image: b64('x') } } };
    expect(expectError(await call(echo, unknown), 400, 10106)).toContain('"image"');
    const wrongType = { payload: { text: { audio: b64('x') } } };
    expect(expectError(await call(echo, wrongType), 400, 10106)).toContain('must have type text');
  });

  it('answers an unknown service with 404 / 10200', async () => {
    const body = { payload: { text: { text: b64('a') } } };
    expect(expectError(await call(echo, body, { service: 'asr' }), 404, 10200)).toContain('asr');
  });

  it('a long name the client sent is quoted cut short, never echoed whole', async () => {
    const long = 'c'.repeat(5000);
    const res = await get(echo, `/v1/metadata?service=${long}`);
    expect(res.status).toBe(404);
    expect(res.body.header.message).toBe(`unknown service "${'c'.repeat(80)}…"`);
    const key = { payload: { [`k\n${long}`]: { text: b64('a') } } };
    expect(expectError(await call(echo, key), 400, 10106)).toBe(`unknown input key "k\\n${'c'.repeat(78)}…"`);
  });

  it('service and key names that Object.prototype holds are names like any other', async () => {
    for (const service of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const body = { parameter: { [service]: {} }, payload: { text: { text: b64('a') } } };
      expect(expectError(await call(echo, body, { service }), 404, 10200)).toContain(service);
    }
    const unknownKey = { payload: { constructor: { text: b64('a') } } };
    expect(expectError(await call(echo, unknownKey), 400, 10106)).toContain('"constructor"');
    // "__proto__" could reach a prototype: the body parser refuses it, whatever the content type.
    const proto = '{"header":{"__proto__":{"x":1}},"payload":{"text":{"text":"YQ=="}}}';
    expect(expectError(await call(echo, proto), 400, 10009)).toContain('forbidden __proto__ key');
    const asForm = await call(echo, proto, { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(expectError(asForm, 400, 10009)).toContain('forbidden __proto__ key');
  });

  it('rejects a bad aiges-timeout-ms header with 10009', async () => {
    for (const value of ['0', '-5', 'soon', '1.5']) {
      const res = await call(echo, textBody('a'), { headers: { 'aiges-timeout-ms': value } });
      expect(expectError(res, 400, 10009)).toContain('aiges-timeout-ms');
    }
    expect((await call(echo, textBody('a'), { headers: { 'aiges-timeout-ms': '5000' } })).status).toBe(200);
  });
});

describe('malformed requests', () => {
  it('malformed JSON → 400 / 10009', async () => {
    expect(expectError(await call(echo, '{"header": {'), 400, 10009)).toContain('request body is not valid JSON');
  });

  it('invalid base64 → 10009 naming the field', async () => {
    const res = await call(echo, { payload: { text: { text: 'not base64!' } } });
    expect(expectError(res, 400, 10009)).toBe('payload.text.text is not valid base64');
    const bad = await call(echo, { payload: { text: { text: 'abcde' } } });
    expect(expectError(bad, 400, 10009)).toContain('payload.text.text');
  });

  it('wrong types → 10009 naming the field', async () => {
    const cases: [unknown, string][] = [
      [[1, 2], 'request body must be a JSON object'],
      [{ payload: 'hello' }, 'payload must be an object'],
      [{ payload: { text: 'aGk=' } }, 'payload.text must be an object'],
      [{ payload: { text: { text: 42 } } }, 'payload.text.text must be a base64 string'],
      [{ payload: { text: {} } }, 'payload.text has no data field'],
      [{ payload: { text: { text: 'aGk=', audio: 'aGk=' } } }, 'payload.text has more than one data field'],
      [{ payload: { text: { text: 'aGk=', encoding: 5 } } }, 'payload.text.encoding must be a string'],
      [{ payload: { text: { text: 'aGk=', seq: 'one' } } }, 'payload.text.seq must be a non-negative integer'],
      [{ payload: { text: { text: 'aGk=', shape: [1] } } }, 'payload.text.shape must be a string'],
      [{ header: { status: 7 }, payload: {} }, 'header.status must be 0'],
      [{ header: { sid: 1 }, payload: {} }, 'header.sid must be a string'],
      [{ header: 'h', payload: {} }, 'header must be an object'],
    ];
    for (const [body, message] of cases) {
      expect(expectError(await call(echo, body), 400, 10009)).toContain(message);
    }
  });

  it('wrong content type → 10009', async () => {
    const res = await fetch(url(echo, '/v1/private/echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<x/>',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('aiges-code')).toBe('10009');
    expect(((await res.json()) as { header: { message: string } }).header.message).toContain('content type');
  });

  it('unknown route and wrong method → 404 / 10205', async () => {
    expect(expectError(await get(echo, '/v1/nothing'), 404, 10205)).toBe('no route GET /v1/nothing');
    expect(expectError(await get(echo, '/v1/private/echo'), 404, 10205)).toContain('GET /v1/private/echo');
    expect(expectError(await call(echo, textBody('a'), { service: '%E0%A4%A' }), 400, 10009)).toBe('malformed URL');
  });
});

describe('limits and plugin failures', () => {
  let small: Loader;
  let throws: Loader;
  beforeAll(async () => {
    small = await startLoader({ limits: { max_message_bytes: 1024 } });
    throws = await startLoader({ plugin: { path: 'test/fixtures/plugins/http-throws.ts' } });
  });
  afterAll(async () => {
    await Promise.all([small.stop(), throws.stop()]);
  });

  it('a body over the limit → 413 / 10201', async () => {
    const huge = 'A'.repeat(bodyLimitOf(1024) + 10);
    const res = await call(small, { payload: { text: { text: huge } } });
    expect(expectError(res, 413, 10201)).toContain(String(bodyLimitOf(1024)));
  });

  it('decoded payload over max_message_bytes → 413 / 10201 from the data plane', async () => {
    const res = await call(small, { payload: { text: { text: b64(Buffer.alloc(1025)) } } });
    expect(expectError(res, 413, 10201)).toContain('1025 bytes');
    expect((await call(small, { payload: { text: { text: b64(Buffer.alloc(1024)) } } })).status).toBe(200);
  });

  it('a plugin that throws → 500 / 10909 without a stack', async () => {
    const res = await call(throws, { payload: { text: { text: b64('x') } } }, { service: 'throws' });
    expect(expectError(res, 500, 10909)).toBe('plugin exec failed: model exploded');
    expect(JSON.stringify(res.body)).not.toMatch(/\s+at\s|\.ts:\d+/);
    expect(Object.keys(res.body)).toEqual(['header']);
  });

  it('an error answer names the sid the plugin was given (made by the loader when the client sent none)', async () => {
    const res = await call(
      throws,
      { parameter: { throws: { say_sid: true } }, payload: { text: { text: b64('x') } } },
      { service: 'throws' },
    );
    const message = expectError(res, 500, 10909);
    expect(res.body.header.sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(message).toBe(`plugin exec failed: model exploded in ${res.body.header.sid}`);
  });
});

describe('metadata and OpenAPI', () => {
  it('serves the service metadata', async () => {
    const res = await get(echo, '/v1/metadata');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ service: 'echo', version: '1.0.0', supportsOnce: true, supportsSession: true });
    expect(expectError(await get(echo, '/v1/metadata?service=tts'), 404, 10200)).toContain('tts');
  });

  it('describes the JSON route from the plugin schema', async () => {
    const { status, body: doc } = await get(echo, '/openapi.json');
    expect(status).toBe(200);
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ version: '1.0.0' });
    const post = doc.paths['/v1/private/{service}'].post;
    expect(post.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'service', in: 'path', schema: { type: 'string', enum: ['echo'] } }),
        expect.objectContaining({ name: 'aiges-timeout-ms', in: 'header' }),
      ]),
    );
    expect(post.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/Request');
    const request = doc.components.schemas.Request.properties;
    const params = request.parameter.properties.echo;
    expect(params.properties.delay_ms).toMatchObject({ type: 'integer', minimum: 0, maximum: 60000, default: 0 });
    expect(params.properties.sid).toMatchObject({ type: 'string' });
    expect(Object.keys(request.payload.properties).sort()).toEqual(['audio', 'data', 'text']);
    expect(request.payload.properties.audio.properties.audio).toMatchObject({ type: 'string', contentEncoding: 'base64' });
    expect(request.payload.properties.data.required).toEqual(['data']);
    const response = doc.components.schemas.Response.properties;
    expect(Object.keys(response.payload.properties).sort()).toEqual(['audio', 'data', 'text']);
    expect(doc.components.schemas.ErrorResponse.properties.header.required).toEqual(['code', 'message', 'sid']);
  });
});
