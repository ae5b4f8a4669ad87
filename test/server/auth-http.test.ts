/**
 * AK/SK on the HTTP adapter: a real loader with `[auth] mode = "aksk"` on port 0, requests signed
 * by the test's own signer (auth-helpers.ts), and every way a request can fail its check.
 */
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Codes } from '../../loader/errors.js';
import type { Loader } from '../../loader/loader.js';
import { newSecret, signHeaders, type TestKey, writeKeysFile } from './auth-helpers.js';
import { expectError, get, type JsonResponse, startLoader, textBody, unb64, url } from './http-helpers.js';

const alice: TestKey = { access_key: 'alice', secret_key: newSecret() };
const bob: TestKey = { access_key: 'bob', secret_key: newSecret(), services: ['not-echo'] };
const carol: TestKey = { access_key: 'carol', secret_key: newSecret(), rate: 0.001, burst: 2 };
const stranger: TestKey = { access_key: 'mallory', secret_key: newSecret() };

const logs: string[] = [];
let loader: Loader;
let host: string;

beforeAll(async () => {
  const keys_file = writeKeysFile([alice, bob, carol]);
  loader = await startLoader(
    { auth: { mode: 'aksk', keys_file }, log: { level: 'debug' } },
    { logDestination: { write: (line: string) => void logs.push(line) } },
  );
  host = `127.0.0.1:${loader.httpPort}`;
});
afterAll(async () => {
  await loader.stop();
});

let nonce = 0;
/** A fresh path each time (the replay check refuses a signature seen before). */
const privatePath = (service = 'echo') => `/v1/private/${service}?nonce=${++nonce}`;

async function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<JsonResponse> {
  const res = await fetch(url(loader, path), {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A signed POST of `body` to `path` with `key`; `tamper` changes what is sent after signing. */
function signedPost(
  key: TestKey,
  path: string,
  body: string,
  tamper: { headers?: Record<string, string>; body?: string; date?: Date } = {},
) {
  const headers = signHeaders({ key, method: 'POST', path, host, body, ...(tamper.date === undefined ? {} : { date: tamper.date }) });
  return send('POST', path, { ...headers, ...tamper.headers }, tamper.body ?? body);
}

function signedGet(key: TestKey, path: string) {
  return send('GET', path, signHeaders({ key, method: 'GET', path, host }));
}

const echoBody = (text: string) => JSON.stringify(textBody(text));

describe('a signed request', () => {
  it('is served when signed by the issue formula, computed independently of the loader', async () => {
    const res = await signedPost(alice, privatePath(), echoBody('signed hello'));
    expect(res.status).toBe(200);
    expect(unb64(res.body.payload.text.text)).toBe('signed hello');
  });

  it('is served when signed with the SDK helper (signRequest)', async () => {
    const { signRequest } = await import('../../plugins/index.js');
    const path = privatePath();
    const body = echoBody('sdk');
    const headers = signRequest(
      { accessKey: alice.access_key, secretKey: alice.secret_key },
      { method: 'POST', pathAndQuery: path, host, body },
    );
    expect(headers['x-ark-content-sha256']).toBe(
      signHeaders({ key: alice, method: 'POST', path, host, body, date: new Date(headers.date) })['x-ark-content-sha256'],
    );
    expect(headers.authorization).toBe(
      signHeaders({ key: alice, method: 'POST', path, host, body, date: new Date(headers.date) }).authorization,
    );
    expect((await send('POST', path, headers, body)).status).toBe(200);
  });

  it('reaches metadata, OpenAPI and metrics when signed (GET signs the empty body)', async () => {
    expect((await signedGet(alice, '/v1/metadata?service=echo')).body.service).toBe('echo');
    expect((await signedGet(alice, '/openapi.json')).status).toBe(200);
    const metrics = await signedGet(alice, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/aiges_auth_requests_total\{access_key="alice",result="ok"\} [1-9]/);
  });
});

describe('refused with 401 / 10206', () => {
  const refused = async (res: Promise<JsonResponse>, why: RegExp) => {
    expect(expectError(await res, 401, Codes.UNAUTHENTICATED)).toMatch(why);
  };

  it('without an authorization header', async () => {
    await refused(send('POST', privatePath(), {}, echoBody('x')), /missing authorization/);
    await refused(send('GET', '/v1/metadata', {}), /missing authorization/);
  });

  it('on unknown routes too, before their 404', async () => {
    await refused(send('GET', '/no/such/route', {}), /missing authorization/);
  });

  it('with a malformed authorization header', async () => {
    const path = privatePath();
    const body = echoBody('x');
    const good = signHeaders({ key: alice, method: 'POST', path, host, body });
    for (const authorization of [
      'Basic YWxpY2U6cHc=',
      good.authorization.replace('SignedHeaders=date;host;x-ark-content-sha256', 'SignedHeaders=date;host'),
      good.authorization.replace(/&Signature=.*/, ''),
      `${good.authorization}&Extra=1`,
      good.authorization.replace(/Signature=.*/, 'Signature=c2hvcnQ='),
    ]) {
      await refused(send('POST', path, { ...good, authorization }, body), /authorization|SignedHeaders|Signature/);
    }
  });

  it('with a bad signature (signed with another secret)', async () => {
    const forged = { ...alice, secret_key: newSecret() };
    await refused(signedPost(forged, privatePath(), echoBody('x')), /signature does not match/);
  });

  it('with a stale date, and one too far ahead', async () => {
    await refused(
      signedPost(alice, privatePath(), echoBody('x'), { date: new Date(Date.now() - 6 * 60_000) }),
      /away from the server's clock/,
    );
    await refused(
      signedPost(alice, privatePath(), echoBody('x'), { date: new Date(Date.now() + 6 * 60_000) }),
      /away from the server's clock/,
    );
  });

  it('with a date that is not RFC 1123 GMT', async () => {
    const path = privatePath();
    const body = echoBody('x');
    const iso = new Date().toISOString();
    // Signed with that date, so only its form is wrong.
    const headers = signHeaders({ key: alice, method: 'POST', path, host, body });
    const toSign = { ...headers, date: iso };
    await refused(send('POST', path, toSign, body), /RFC 1123/);
  });

  it('when replayed: the same signed request twice', async () => {
    const path = privatePath();
    const body = echoBody('once only');
    const headers = signHeaders({ key: alice, method: 'POST', path, host, body });
    expect((await send('POST', path, headers, body)).status).toBe(200);
    await refused(send('POST', path, headers, body), /replayed/);
  });

  it('when the body is not the one whose hash was signed', async () => {
    await refused(signedPost(alice, privatePath(), echoBody('signed'), { body: echoBody('swapped') }), /does not match the body/);
  });

  it('when the hash header is not the hash of the body, even with a signature over it', async () => {
    const path = privatePath();
    const body = echoBody('x');
    // The signature covers a hash of other bytes: it holds, the body check does not.
    const headers = signHeaders({ key: alice, method: 'POST', path, host, body: 'other bytes' });
    await refused(send('POST', path, headers, body), /does not match the body/);
  });

  it('when the path or host differ from the signed ones', async () => {
    const body = echoBody('x');
    const signedFor = privatePath();
    await refused(send('POST', privatePath(), signHeaders({ key: alice, method: 'POST', path: signedFor, host, body }), body), /signature/);
    const wrongHost = await rawPost(privatePath(), 'example.com', body);
    expect(wrongHost.status).toBe(401);
  });

  it('with an unknown access key', async () => {
    await refused(signedPost(stranger, privatePath(), echoBody('x')), /unknown access key/);
  });
});

/** A POST whose host header says `signedHost` (fetch would set the real one), signed for it. */
function rawPost(path: string, signedHost: string, body: string): Promise<{ status: number }> {
  const headers = signHeaders({ key: alice, method: 'POST', path, host: signedHost, body });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: loader.httpPort,
        method: 'POST',
        path,
        headers: { ...headers, host: 'elsewhere.example', 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('a key without the service', () => {
  it('gets 403 / 10207 on the service route and its metadata', async () => {
    expectError(await signedPost(bob, privatePath(), echoBody('x')), 403, Codes.PERMISSION_DENIED);
    expectError(await signedGet(bob, '/v1/metadata?service=echo'), 403, Codes.PERMISSION_DENIED);
    // The sole service, when none is named, is checked the same way.
    expectError(await signedGet(bob, '/v1/metadata'), 403, Codes.PERMISSION_DENIED);
  });

  it('learns nothing of services that do not exist (403, not 404)', async () => {
    const body = JSON.stringify({ ...textBody('x'), parameter: { 'no-such': {} } });
    expectError(await signedPost(bob, privatePath('no-such'), body), 403, Codes.PERMISSION_DENIED);
    // A key that may call every service gets the 404 of a service that does not exist.
    expectError(await signedPost(alice, privatePath('no-such'), body), 404, Codes.SERVICE_NOT_FOUND);
  });
});

describe('rate limits', () => {
  it('refuse past the burst with 429 / 10208, and a refused request spends no token of another key', async () => {
    expect((await signedPost(carol, privatePath(), echoBody('1'))).status).toBe(200);
    expect((await signedPost(carol, privatePath(), echoBody('2'))).status).toBe(200);
    const message = expectError(await signedPost(carol, privatePath(), echoBody('3')), 429, Codes.RATE_LIMITED);
    expect(message).toMatch(/rate limit of access key "carol"/);
    expect((await signedPost(alice, privatePath(), echoBody('alice is not limited'))).status).toBe(200);
  });
});

describe('open routes', () => {
  it('health answers without a signature', async () => {
    expect((await get(loader, '/v2/health/live')).status).toBe(200);
    expect((await get(loader, '/v2/health/ready')).status).toBe(200);
  });

  it('/metrics needs a signature unless [auth] open_metrics', async () => {
    expectError(await get(loader, '/metrics'), 401, Codes.UNAUTHENTICATED);
    const open = await startLoader({ auth: { mode: 'aksk', keys_file: writeKeysFile([alice]), open_metrics: true } });
    try {
      expect((await get(open, '/metrics')).status).toBe(200);
      expectError(await get(open, '/v1/metadata'), 401, Codes.UNAUTHENTICATED);
    } finally {
      await open.stop();
    }
  });
});

describe('HTTP sessions', () => {
  const step = (key: TestKey, header: Record<string, unknown>, text?: string) =>
    signedPost(
      key,
      privatePath(),
      JSON.stringify({
        header: { app_id: 't', ...header },
        parameter: { echo: {} },
        payload: text === undefined ? {} : { text: { encoding: 'utf8', status: 1, text: Buffer.from(text).toString('base64') } },
      }),
    );

  it('belong to the key that opened them: another key may not write, end or read them', async () => {
    const keys_file = writeKeysFile([alice, { ...stranger }]);
    const other = await startLoader({ auth: { mode: 'aksk', keys_file }, plugin: { path: 'test/fixtures/plugins/http-split.ts' } });
    const otherHost = `127.0.0.1:${other.httpPort}`;
    const post = (key: TestKey, header: Record<string, unknown>) => {
      const path = `/v1/private/split?nonce=${++nonce}`;
      const body = JSON.stringify({ header: { app_id: 't', ...header }, parameter: { split: {} }, payload: {} });
      return fetch(`http://${otherHost}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signHeaders({ key, method: 'POST', path, host: otherHost, body }) },
        body,
      }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json()) as any }));
    };
    try {
      const opened = await post(alice, { status: 0 });
      expect(opened.status).toBe(200);
      const sid = opened.body.header.sid as string;
      expectError(await post(stranger, { status: 1, sid }), 403, Codes.PERMISSION_DENIED);
      expectError(await post(stranger, { status: 2, sid }), 403, Codes.PERMISSION_DENIED);
      // The owner's session is untouched by those.
      const ended = await post(alice, { status: 2, sid });
      expect(ended.status).toBe(200);
      expect(ended.body.header.status).toBe(2);
    } finally {
      await other.stop();
    }
  });

  it('work end to end for their owner on echo', async () => {
    const opened = await step(alice, { status: 0 }, 'a');
    expect(opened.status).toBe(200);
    const ended = await step(alice, { status: 2, sid: opened.body.header.sid });
    expect(ended.status).toBe(200);
  });
});

describe('the keys file', () => {
  it('stops a loader at startup when it does not check, without quoting it', async () => {
    const keys_file = writeKeysFile([]);
    writeFileSync(keys_file, `[[keys]]\naccess_key = "a"\nsecret_key = "${alice.secret_key}`);
    const starting = startLoader({ auth: { mode: 'aksk', keys_file } }, { start: false });
    await expect(starting).rejects.toThrow(/keys file .* is not valid TOML \(line 3/);
    await expect(starting).rejects.not.toThrow(alice.secret_key.slice(0, 10));
  });

  it('revokes a key removed from it within about a second, and takes a key added to it', async () => {
    const dave: TestKey = { access_key: 'dave', secret_key: newSecret() };
    const keys_file = writeKeysFile([alice]);
    const live = await startLoader({ auth: { mode: 'aksk', keys_file } });
    const liveHost = `127.0.0.1:${live.httpPort}`;
    const status = async (key: TestKey) => {
      const path = `/v1/metadata?nonce=${++nonce}`;
      return (await fetch(`http://${liveHost}${path}`, { headers: signHeaders({ key, method: 'GET', path, host: liveHost }) })).status;
    };
    try {
      expect(await status(alice)).toBe(200);
      expect(await status(dave)).toBe(401);
      writeKeysFile([dave], keys_file);
      const t0 = performance.now();
      await vi.waitFor(async () => expect(await status(alice)).toBe(401), { timeout: 3_000, interval: 50 });
      expect(performance.now() - t0).toBeLessThan(2_500);
      expect(await status(dave)).toBe(200);
    } finally {
      await live.stop();
    }
  });
});

describe('metrics', () => {
  it('count by configured access key, any other under one label', async () => {
    for (const name of ['u1', 'u2', 'u3']) await signedPost({ access_key: name, secret_key: newSecret() }, privatePath(), echoBody('x'));
    const text = (await signedGet(alice, '/metrics')).body as string;
    expect(text).toMatch(/aiges_auth_requests_total\{access_key="_unknown",result="unauthenticated"\} [1-9]/);
    expect(text).toMatch(/aiges_auth_requests_total\{access_key="bob",result="forbidden"\} [1-9]/);
    expect(text).toMatch(/aiges_auth_requests_total\{access_key="carol",result="rate_limited"\} [1-9]/);
    expect(text).not.toMatch(/access_key="u[123]"/);
  });
});

describe('logs', () => {
  it('never hold a secret, a signature or an authorization header', async () => {
    await signedPost(alice, privatePath(), echoBody('logged?'));
    await signedPost({ ...alice, secret_key: newSecret() }, privatePath(), echoBody('bad'));
    const all = logs.join('\n');
    expect(all).toContain('request refused: not authenticated');
    for (const key of [alice, bob, carol]) {
      expect(all).not.toContain(key.secret_key);
      expect(all).not.toContain(Buffer.from(key.secret_key, 'base64').toString('hex'));
    }
    expect(all).not.toMatch(/Signature=[A-Za-z0-9+/]{8}|Credential=alice/);
  });
});
