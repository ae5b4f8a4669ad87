/**
 * AK/SK over TLS: a loader with both [server.tls] and [auth] takes calls signed by the TS client
 * over grpcs:// (the signed authority is the TLS target's host:port) and an https request signed
 * by the test's own signer, and refuses them unsigned.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../loader/errors.js';
import type { Loader } from '../../loader/loader.js';
import { createLoaderClient, infer } from '../../loader/tools/client.js';
import { makePki } from '../lib/certs.js';
import { newSecret, signHeaders, type TestKey, writeKeysFile } from './auth-helpers.js';
import { expectGrpcError, textItem } from './grpc-helpers.js';
import { startLoader } from './http-helpers.js';

const alice: TestKey = { access_key: 'alice', secret_key: newSecret() };
let loader: Loader;
let ca: Buffer;

beforeAll(async () => {
  const pki = makePki('auth-tls-ca', ['server']);
  ca = readFileSync(pki.ca.caFile);
  loader = await startLoader({
    server: { tls: { cert_file: pki.certs.server.certFile, key_file: pki.certs.server.keyFile } },
    auth: { mode: 'aksk', keys_file: writeKeysFile([alice]) },
  });
});
afterAll(async () => {
  await loader.stop();
});

describe('AK/SK over TLS', () => {
  it('takes a signed gRPC call over grpcs://, refuses an unsigned one', async () => {
    const target = `grpcs://127.0.0.1:${loader.grpcPort}`;
    const signed = createLoaderClient(target, {}, { ca }, { accessKey: alice.access_key, secretKey: alice.secret_key });
    const unsigned = createLoaderClient(target, {}, { ca });
    try {
      const res = await infer(signed, { service: 'echo', items: [textItem('tls and a signature')] }, 5_000);
      expect(res.items[0]?.data.toString()).toBe('tls and a signature');
      await expectGrpcError(
        infer(unsigned, { service: 'echo', items: [textItem('x')] }),
        grpc.status.UNAUTHENTICATED,
        Codes.UNAUTHENTICATED,
      );
    } finally {
      signed.close();
      unsigned.close();
    }
  });

  it('takes a signed https request', async () => {
    const host = `127.0.0.1:${loader.httpPort}`;
    const dispatcher = new Agent({ connect: { ca } });
    try {
      const path = '/v1/metadata?nonce=tls-1';
      const res = await request(`https://${host}${path}`, { dispatcher, headers: signHeaders({ key: alice, method: 'GET', path, host }) });
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(await res.body.text()).service).toBe('echo');
    } finally {
      await dispatcher.close();
    }
  });
});
