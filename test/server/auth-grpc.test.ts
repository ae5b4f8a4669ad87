/**
 * AK/SK on the gRPC adapter: a real loader with `[auth] mode = "aksk"` on port 0, calls signed by
 * the test's own signer over raw bytes (the metadata form of docs/security.md) and by the TS
 * client's `--access-key/--secret-key` signing, and every way a call can fail its check.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../loader/errors.js';
import { createLoaderClient, infer, metadata, runSession, type LoaderClient } from '../../loader/tools/client.js';
import { loadLoaderProto } from '../../proto/load.js';
import { newSecret, signHeaders, type TestKey, writeKeysFile } from './auth-helpers.js';
import { expectGrpcError, healthClient, type Served, serve, textItem } from './grpc-helpers.js';

const alice: TestKey = { access_key: 'alice', secret_key: newSecret() };
const bob: TestKey = { access_key: 'bob', secret_key: newSecret(), services: ['not-echo'] };
const carol: TestKey = { access_key: 'carol', secret_key: newSecret(), rate: 0.001, burst: 1 };
const stranger: TestKey = { access_key: 'mallory', secret_key: newSecret() };

const INFER = '/aiges.v1.Loader/Infer';
const codec = loadLoaderProto().aiges.v1.Loader.service;

let served: Served;
let raw: grpc.Client;
const clients: LoaderClient[] = [];

beforeAll(async () => {
  served = await serve({ auth: { mode: 'aksk', keys_file: writeKeysFile([alice, bob, carol]) } });
  raw = new grpc.Client(served.address, grpc.credentials.createInsecure());
});
afterAll(async () => {
  raw.close();
  for (const c of clients) c.close();
  await served.close();
});

function signedClient(key: TestKey): LoaderClient {
  const client = createLoaderClient(served.address, {}, undefined, { accessKey: key.access_key, secretKey: key.secret_key });
  clients.push(client);
  return client;
}

const inferBytes = (text: string, service = 'echo') => codec.Infer.requestSerialize({ service, items: [textItem(text)] }) as Buffer;

let nonce = 0;
/** Metadata signed by the test's own signer: POST, the method path (+ ?nonce=), the :authority, the message bytes. */
function signedMetadata(
  key: TestKey,
  path: string,
  body: Buffer | undefined,
  options: { date?: Date; nonce?: string } = {},
): grpc.Metadata {
  const n = options.nonce ?? `n${++nonce}`;
  const headers = signHeaders({
    key,
    method: 'POST',
    path: `${path}?nonce=${n}`,
    host: served.address,
    ...(body === undefined ? {} : { body }),
    ...(options.date === undefined ? {} : { date: options.date }),
  });
  const md = new grpc.Metadata();
  md.set('x-ark-nonce', n);
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

const identity = (b: Buffer) => b;
function rawInfer(bytes: Buffer, md: grpc.Metadata): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    raw.makeUnaryRequest(INFER, identity, identity, bytes, md, (err, res) => (err ? reject(err) : resolve(res as Buffer)));
  });
}

const echoed = (bytes: Buffer) => (codec.Infer.responseDeserialize(bytes) as { items: { data: Buffer }[] }).items[0]?.data.toString();

describe('a signed call', () => {
  it('is served when signed by the metadata form, computed independently of the loader', async () => {
    const bytes = inferBytes('hello over grpc');
    expect(echoed(await rawInfer(bytes, signedMetadata(alice, INFER, bytes)))).toBe('hello over grpc');
  });

  it('is served through the TS client with credentials: Infer, Metadata and Session, many alike at once', async () => {
    const client = signedClient(alice);
    const answers = await Promise.all(Array.from({ length: 20 }, () => infer(client, { service: 'echo', items: [textItem('same')] })));
    expect(answers.every((a) => a.items[0]?.data.toString() === 'same')).toBe(true);
    expect((await metadata(client, 'echo')).service).toBe('echo');
    const run = await runSession(client, { service: 'echo' }, [[{ ...textItem('s1'), status: 0 }], [{ ...textItem('s2'), status: 2 }]]);
    expect(run.responses.flatMap((r) => r.items.map((i) => i.data.toString()))).toEqual(['s1', 's2']);
  });
});

describe('refused with UNAUTHENTICATED / 10206', () => {
  const refused = async (call: Promise<unknown>, why: RegExp) => {
    expect(await expectGrpcError(call, grpc.status.UNAUTHENTICATED, Codes.UNAUTHENTICATED)).toMatch(why);
  };

  it('without metadata, on every method but health', async () => {
    await refused(infer(served.client, { service: 'echo', items: [textItem('x')] }), /missing authorization/);
    await refused(metadata(served.client, 'echo'), /missing authorization/);
    await refused(runSession(served.client, { service: 'echo' }, []), /missing authorization/);
    const load = served.client.WatchLoad({});
    await refused(new Promise((resolve, reject) => load.on('error', reject).on('end', resolve)), /missing authorization/);
    const relay = served.client.Relay();
    relay.end();
    await refused(new Promise((resolve, reject) => relay.on('error', reject).on('end', resolve).resume()), /missing authorization/);
  });

  it('with a bad signature', async () => {
    const bytes = inferBytes('x');
    await refused(rawInfer(bytes, signedMetadata({ ...alice, secret_key: newSecret() }, INFER, bytes)), /signature does not match/);
  });

  it('with a stale date', async () => {
    const bytes = inferBytes('x');
    await refused(rawInfer(bytes, signedMetadata(alice, INFER, bytes, { date: new Date(Date.now() - 10 * 60_000) })), /clock/);
  });

  it('when replayed', async () => {
    const bytes = inferBytes('replay me');
    const md = signedMetadata(alice, INFER, bytes);
    await rawInfer(bytes, md);
    await refused(rawInfer(bytes, md), /replayed/);
  });

  it('when the message is not the one whose hash was signed', async () => {
    await refused(rawInfer(inferBytes('sent'), signedMetadata(alice, INFER, inferBytes('signed'))), /does not match the body/);
  });

  it('when a nonce other than the signed one is sent', async () => {
    const bytes = inferBytes('x');
    const md = signedMetadata(alice, INFER, bytes);
    md.set('x-ark-nonce', 'other');
    await refused(rawInfer(bytes, md), /signature does not match/);
  });

  it('with an unknown access key', async () => {
    await refused(infer(signedClient(stranger), { service: 'echo', items: [textItem('x')] }), /unknown access key/);
  });
});

describe('a key without the service', () => {
  it('gets PERMISSION_DENIED / 10207 on Infer, Metadata and Session', async () => {
    const client = signedClient(bob);
    await expectGrpcError(
      infer(client, { service: 'echo', items: [textItem('x')] }),
      grpc.status.PERMISSION_DENIED,
      Codes.PERMISSION_DENIED,
    );
    await expectGrpcError(metadata(client, ''), grpc.status.PERMISSION_DENIED, Codes.PERMISSION_DENIED);
    await expectGrpcError(runSession(client, { service: 'echo' }, []), grpc.status.PERMISSION_DENIED, Codes.PERMISSION_DENIED);
  });
});

describe('rate limits', () => {
  it('refuse past the burst with RESOURCE_EXHAUSTED / 10208', async () => {
    const client = signedClient(carol);
    await infer(client, { service: 'echo', items: [textItem('1')] });
    const message = await expectGrpcError(
      infer(client, { service: 'echo', items: [textItem('2')] }),
      grpc.status.RESOURCE_EXHAUSTED,
      Codes.RATE_LIMITED,
    );
    expect(message).toMatch(/rate limit/);
  });
});

describe('health', () => {
  it('answers without a signature', async () => {
    const health = healthClient(served.address);
    try {
      const res = await new Promise<{ status: unknown }>((resolve, reject) =>
        health.Check({ service: '' }, (err, r) => (err ? reject(err) : resolve(r as { status: unknown }))),
      );
      expect(res.status).toBe(1); // SERVING
    } finally {
      health.close();
    }
  });
});
