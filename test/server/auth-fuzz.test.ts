/**
 * Fuzzing AK/SK on the adapters with fast-check: a real loader with `[auth] mode = "aksk"` on
 * port 0, called over undici (HTTP) and grpc-js (Infer, metadata form) with authorization, date,
 * host, x-ark-content-sha256 and x-ark-nonce values that are arbitrary, or a valid signature with
 * one signed part changed (the header, the date, the hash, the path, the body, the host).
 *
 * Properties: a request passes only when sent as signed; any other answer is 401 / 403 / 429
 * (UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED) with 10206 / 10207 / 10208, never a
 * 5xx or another status; the loader then serves a signed call, is idle, and leaks nothing.
 * (The checks themselves are fuzzed without a server in test/auth/aksk-fuzz.test.ts.)
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../loader/errors.js';
import type { Loader } from '../../loader/loader.js';
import { aigesCodeOf, createLoaderClient, infer } from '../../loader/tools/client.js';
import { loadLoaderProto } from '../../proto/load.js';
import { expectBackTo, type Footprint, footprint, FUZZ_RUNS } from '../lib/fuzz.js';
import { newSecret, signHeaders, type TestKey, writeKeysFile } from './auth-helpers.js';
import { expectFree, textItem } from './grpc-helpers.js';
import { startLoader, textBody } from './http-helpers.js';

const alice: TestKey = { access_key: 'alice', secret_key: newSecret() };
const bob: TestKey = { access_key: 'bob', secret_key: newSecret(), services: ['not-echo'] };
const codec = loadLoaderProto().aiges.v1.Loader.service.Infer;
const REFUSALS: Record<number, number> = { 401: Codes.UNAUTHENTICATED, 403: Codes.PERMISSION_DENIED, 429: Codes.RATE_LIMITED };
const GRPC_REFUSALS: Record<number, number> = {
  [grpc.status.UNAUTHENTICATED]: Codes.UNAUTHENTICATED,
  [grpc.status.PERMISSION_DENIED]: Codes.PERMISSION_DENIED,
  [grpc.status.RESOURCE_EXHAUSTED]: Codes.RATE_LIMITED,
};

let loader: Loader;
let before: Footprint;
beforeAll(async () => {
  loader = await startLoader({ auth: { mode: 'aksk', keys_file: writeKeysFile([alice, bob]) } });
  before = footprint();
});
afterAll(async () => {
  await loader.stop();
});

let nonce = 0;

/** The signed parts of one request and how a case changes one of them after signing. */
const tamper = fc.oneof(
  fc.constant(undefined),
  fc.record({
    part: fc.constantFrom('authorization', 'date', 'x-ark-content-sha256', 'host', 'path', 'body'),
    at: fc.nat(),
    char: fc.oneof(fc.constantFrom(...'Aa0+/=&; :'), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 })),
  }),
);
/** Headers that are not a signature at all. */
const junk = fc.record(
  {
    authorization: fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 200 }),
      fc.constantFrom('HMAC-SHA256 ', 'HMAC-SHA256 Credential=alice&SignedHeaders=date;host;x-ark-content-sha256&Signature='),
    ),
    date: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
    ),
    'x-ark-content-sha256': fc.string({ maxLength: 50 }),
    'x-ark-nonce': fc.string({ maxLength: 20 }),
  },
  { requiredKeys: [] },
);

const change = (value: string, at: number, char: string) => {
  const i = at % Math.max(1, value.length);
  return value.slice(0, i) + char + value.slice(i + 1);
};
/** Header values undici and grpc-js send as they are (printable ASCII, no edge whitespace). */
const sendable = (v: string) => /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(v);

describe('AK/SK on the adapters under fuzzing', () => {
  it('HTTP: a request passes only as signed; everything else is 401/403/429 with its code', async () => {
    const agent = new Agent({ connections: 2 });
    const host = `127.0.0.1:${loader.httpPort}`;
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(alice, bob), tamper, fc.option(junk, { nil: undefined }), async (key, t, garbage) => {
          let path = `/v1/private/echo?nonce=${++nonce}`;
          let body = JSON.stringify(textBody('signed'));
          let sentHost = host;
          const headers: Record<string, string> = { ...signHeaders({ key, method: 'POST', path, host, body }) };
          if (t !== undefined) {
            if (t.part === 'path') path = `${path}&${encodeURIComponent(t.char)}`;
            else if (t.part === 'body') body = JSON.stringify(textBody(`signed${t.char}`));
            // The same server under another name: what was signed is not what is sent.
            else if (t.part === 'host') sentHost = `localhost:${loader.httpPort}`;
            else {
              const changed = change(headers[t.part] as string, t.at, t.char);
              fc.pre(changed !== headers[t.part] && sendable(changed));
              headers[t.part] = changed;
            }
          }
          let intact = t === undefined;
          if (garbage !== undefined) {
            for (const [k, v] of Object.entries(garbage)) {
              if (v === undefined || !sendable(v)) continue;
              // x-ark-nonce is metadata of gRPC only; on HTTP the nonce is in the signed query.
              if (k !== 'x-ark-nonce' && headers[k] !== v) intact = false;
              headers[k] = v;
            }
          }
          const res = await request(`http://${host}${path}`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json', host: sentHost },
            body,
            dispatcher: agent,
          });
          const text = await res.body.text();
          const code = Number(res.headers['aiges-code']);
          if (intact && key === alice) {
            expect(res.statusCode, text).toBe(200);
            return;
          }
          expect({ status: res.statusCode, code }, text).toEqual({ status: res.statusCode, code: REFUSALS[res.statusCode] });
          expect(JSON.parse(text).header.code).toBe(code);
        }),
        { numRuns: FUZZ_RUNS * 2 },
      );
    } finally {
      await agent.close();
    }
  });

  it('gRPC: an Infer call passes only as signed; everything else is refused with its status and code', async () => {
    const authority = `127.0.0.1:${loader.grpcPort}`;
    const raw = new grpc.Client(authority, grpc.credentials.createInsecure());
    const identity = (b: Buffer) => b;
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(alice, bob), tamper, fc.option(junk, { nil: undefined }), async (key, t, garbage) => {
          const message = codec.requestSerialize({ service: 'echo', items: [textItem(`signed ${t?.char ?? ''}`)] });
          const n = `n${++nonce}`;
          const signed: Record<string, string> = {
            ...signHeaders({ key, method: 'POST', path: `/aiges.v1.Loader/Infer?nonce=${n}`, host: authority, body: message }),
            'x-ark-nonce': n,
          };
          let sent = message;
          if (t !== undefined) {
            if (t.part === 'body') sent = codec.requestSerialize({ service: 'echo', items: [textItem(`changed ${t.char}`)] });
            else if (t.part === 'path' || t.part === 'host') signed['x-ark-nonce'] = `${n}${t.char === ' ' ? '_' : 'x'}`;
            else {
              const changed = change(signed[t.part] as string, t.at, t.char);
              fc.pre(changed !== signed[t.part] && sendable(changed));
              signed[t.part] = changed;
            }
          }
          let intact = t === undefined;
          if (garbage !== undefined) {
            for (const [k, v] of Object.entries(garbage)) {
              if (v === undefined || !sendable(v)) continue;
              if (signed[k] !== v) intact = false;
              signed[k] = v;
            }
          }
          const metadata = new grpc.Metadata();
          for (const [k, v] of Object.entries(signed)) metadata.set(k, v);
          const err = await new Promise<grpc.ServiceError | undefined>((resolve) =>
            raw.makeUnaryRequest('/aiges.v1.Loader/Infer', identity, identity, sent, metadata, { deadline: Date.now() + 10_000 }, (e) =>
              resolve(e ?? undefined),
            ),
          );
          if (intact && key === alice) {
            expect(err?.details).toBeUndefined();
            return;
          }
          expect(err, 'a changed or unsigned call passed').toBeDefined();
          const e = err as grpc.ServiceError;
          expect({ status: grpc.status[e.code], code: aigesCodeOf(e) }).toEqual({
            status: grpc.status[e.code],
            code: GRPC_REFUSALS[e.code],
          });
        }),
        { numRuns: FUZZ_RUNS * 2 },
      );
    } finally {
      raw.close();
    }
  });

  it('the loader then serves a signed call, is idle, and leaks nothing', async () => {
    const client = createLoaderClient(`127.0.0.1:${loader.grpcPort}`, {}, undefined, {
      accessKey: alice.access_key,
      secretKey: alice.secret_key,
    });
    const res = await infer(client, { service: 'echo', items: [textItem('still here')] });
    client.close();
    expect(res.items.map((i) => i.data.toString())).toEqual(['still here']);
    await expectFree(loader);
    await expectBackTo(before);
  });
});
