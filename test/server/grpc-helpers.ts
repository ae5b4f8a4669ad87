/**
 * Shared helpers of the gRPC adapter tests: real loaders on port 0 with a client, error
 * assertions (status + `aiges-code` trailer), hand-driven session streams and raw-bytes calls,
 * V2 (inference.GRPCInferenceService) clients, signed or not.
 */
import * as grpc from '@grpc/grpc-js';
import { expect, vi } from 'vitest';
import {
  aigesCodeOf,
  createLoaderClient,
  type LoaderClient,
  type SessionRequest,
  type SessionResponse__Output,
} from '../../loader/tools/client.js';
import type { Loader } from '../../loader/loader.js';
import { authorityOf, bufferPassing, signingInterceptor } from '../../loader/lib/grpc-sign.js';
import type { AkSkCredentials } from '../../plugins/aksk.js';
import { loadHealthProto, loadInferenceProto } from '../../proto/load.js';
import type { GRPCInferenceServiceClient } from '../../proto/gen/inference/GRPCInferenceService.js';
import type { DataItem } from '../../proto/gen/aiges/v1/DataItem.js';
import type { HealthClient } from '../../proto/gen/grpc/health/v1/Health.js';
import { startLoader } from './http-helpers.js';

export { gate, useGates } from './http-helpers.js';

export const FIXTURES = 'test/fixtures/plugins';

export interface Served {
  loader: Loader;
  address: string;
  client: LoaderClient;
  /** Closes the client and stops the loader. */
  close(): Promise<void>;
}

/** Starts a real loader (echo unless `plugin.path` says otherwise) and a client of it. */
export async function serve(overrides: Record<string, Record<string, unknown>> = {}): Promise<Served> {
  const loader = await startLoader(overrides);
  const address = `127.0.0.1:${loader.grpcPort}`;
  const client = createLoaderClient(address);
  return {
    loader,
    address,
    client,
    async close() {
      client.close();
      await loader.stop();
    },
  };
}

export function healthClient(address: string): HealthClient {
  const Health = loadHealthProto().grpc.health.v1.Health;
  return new Health(address, grpc.credentials.createInsecure());
}

/** A text item; DataType TEXT = 0, status ONCE = 3. */
export function textItem(text: string, key = 'text'): DataItem {
  return { key, type: 0, status: 3, encoding: 'utf8', data: Buffer.from(text) };
}

/**
 * Awaits a call that must fail and asserts its gRPC status and `aiges-code` trailer
 * (`code` undefined: the trailer must be absent). Returns the error's details.
 */
export async function expectGrpcError(call: Promise<unknown>, status: grpc.status, code: number | undefined): Promise<string> {
  let err: grpc.ServiceError | undefined;
  try {
    await call;
  } catch (e) {
    err = e as grpc.ServiceError;
  }
  if (err === undefined) throw new Error(`expected ${grpc.status[status]} / ${code}, but the call succeeded`);
  expect({ status: grpc.status[err.code], code: aigesCodeOf(err) }).toEqual({ status: grpc.status[status], code });
  return err.details;
}

/** Waits until no once call or session holds a slot (release may follow the response by a tick). */
export async function expectFree(loader: Loader): Promise<void> {
  await vi.waitFor(() => {
    expect(loader.dataplane.admission.inUse).toBe(0);
    expect(loader.dataplane.openSessions).toBe(0);
  });
}

/** A session stream driven by hand: write, read responses one at a time, half-close, cancel. */
export interface SessionHandle {
  call: grpc.ClientDuplexStream<SessionRequest, SessionResponse__Output>;
  responses: SessionResponse__Output[];
  /** Resolves with every response at the stream's end; rejects with the stream's error. */
  done: Promise<SessionResponse__Output[]>;
  write(message: SessionRequest): void;
  /** Resolves once `count` responses have arrived in all. */
  received(count: number): Promise<void>;
}

export function openSession(client: LoaderClient, options: grpc.CallOptions = {}): SessionHandle {
  const call = client.Session(options);
  const responses: SessionResponse__Output[] = [];
  const waiters: (() => void)[] = [];
  const done = new Promise<SessionResponse__Output[]>((resolve, reject) => {
    call.on('data', (r: SessionResponse__Output) => {
      responses.push(r);
      for (const w of waiters.splice(0)) w();
    });
    call.on('error', reject);
    call.on('end', () => resolve(responses));
  });
  done.catch(() => undefined);
  return {
    call,
    responses,
    done,
    write: (message) => void call.write(message),
    received: (count) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (responses.length >= count) resolve();
          else waiters.push(check);
        };
        check();
        done.then(() => reject(new Error(`stream ended after ${responses.length} of ${count} responses`)), reject);
      }),
  };
}

const rawClient = (address: string) => new grpc.Client(address, grpc.credentials.createInsecure());
const identity = (b: Buffer) => b;

/** Sends `bytes` as the whole request message of a unary method, undecoded. */
export function rawUnary(address: string, path: string, bytes: Buffer): Promise<Buffer> {
  const client = rawClient(address);
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(path, identity, identity, bytes, (err, res) => (err ? reject(err) : resolve(res as Buffer)));
  }).finally(() => client.close());
}

/** Sends each of `messages` as raw bytes on a bidi stream, half-closes, collects the replies. */
export function rawBidi(address: string, path: string, messages: Buffer[]): Promise<Buffer[]> {
  const client = rawClient(address);
  const call = client.makeBidiStreamRequest(path, identity, identity);
  const out: Buffer[] = [];
  const done = new Promise<Buffer[]>((resolve, reject) => {
    call.on('data', (b: Buffer) => out.push(b));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
  for (const m of messages) call.write(m);
  call.end();
  return done.finally(() => client.close());
}

/**
 * A V2 client of `address`; with `credentials`, every call signed with them, and with `tamper`,
 * each request message replaced by these bytes after it was signed.
 */
export function inferenceClient(address: string, credentials?: AkSkCredentials, tamper?: Buffer): GRPCInferenceServiceClient {
  const Client = loadInferenceProto().inference.GRPCInferenceService;
  if (credentials === undefined) return new Client(address, grpc.credentials.createInsecure());
  const authority = authorityOf(address);
  const Signed = grpc.makeGenericClientConstructor(bufferPassing(Client.service), 'GRPCInferenceService') as unknown as typeof Client;
  const tampering: grpc.Interceptor = (options, next) =>
    new grpc.InterceptingCall(next(options), { sendMessage: (_message, send) => send(tamper) });
  return new Signed(address, grpc.credentials.createInsecure(), {
    'grpc.default_authority': authority,
    interceptors: [signingInterceptor(credentials, authority), ...(tamper === undefined ? [] : [tampering])],
  });
}

/** Calls a unary V2 method, with `metadata` if given; resolves with the answer or rejects with the error. */
export function v2Unary<Res>(
  c: GRPCInferenceServiceClient,
  method: string,
  request: unknown,
  metadata = new grpc.Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    (c as unknown as Record<string, (r: unknown, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>)[
      method
    ]?.call(c, request, metadata, (err, value) => (err === null ? resolve(value) : reject(err)));
  });
}
