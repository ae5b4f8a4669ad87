/**
 * A small typed client of aiges.v1.Loader for the CLI, tests and benchmarks.
 */
import type * as grpc from '@grpc/grpc-js';
import type { AkSkCredentials } from '../../plugins/aksk.js';
import { loadInferenceProto, loadLoaderProto } from '../../proto/load.js';
import type { GRPCInferenceServiceClient } from '../../proto/gen/inference/GRPCInferenceService.js';
import { type ClientConstructor, signedClient } from '../lib/grpc-sign.js';
import type { LoaderClient } from '../../proto/gen/aiges/v1/Loader.js';
import type { InferRequest } from '../../proto/gen/aiges/v1/InferRequest.js';
import type { InferResponse__Output } from '../../proto/gen/aiges/v1/InferResponse.js';
import type { SessionRequest } from '../../proto/gen/aiges/v1/SessionRequest.js';
import type { SessionResponse__Output } from '../../proto/gen/aiges/v1/SessionResponse.js';
import type { MetadataResponse__Output } from '../../proto/gen/aiges/v1/MetadataResponse.js';
import { type ClientTls, grpcChannelCredentials, parseGrpcTarget } from './client-tls.js';

export type { AkSkCredentials, ClientTls };
export type { LoaderClient, InferRequest, InferResponse__Output, SessionRequest, SessionResponse__Output };

/**
 * A client of the loader (or of `aiges lb`) at `target`: "host:port" or "grpc://host:port" in
 * plaintext, "grpcs://host:port" over TLS, trusting `tls.ca` (default Node's bundled roots) and
 * presenting `tls.cert` / `tls.key` for mutual TLS (client-tls.ts). TLS material with a plaintext
 * target throws. With `credentials`, every call is signed with that access key (lib/grpc-sign.ts),
 * for a loader with `[auth] mode = "aksk"`.
 */
export function createLoaderClient(
  target: string,
  options: grpc.ChannelOptions = {},
  tls?: ClientTls,
  credentials?: AkSkCredentials,
): LoaderClient {
  return createClient(loadLoaderProto().aiges.v1.Loader, target, options, tls, credentials);
}

/**
 * A client of the Open Inference Protocol V2 gRPC service (`inference.GRPCInferenceService`) of
 * a loader or of `aiges lb`, with the same targets, TLS and signing as `createLoaderClient`.
 */
export function createV2Client(
  target: string,
  options: grpc.ChannelOptions = {},
  tls?: ClientTls,
  credentials?: AkSkCredentials,
): GRPCInferenceServiceClient {
  return createClient(loadInferenceProto().inference.GRPCInferenceService, target, options, tls, credentials);
}

function createClient<C>(
  Client: ClientConstructor<C>,
  target: string,
  options: grpc.ChannelOptions,
  tls: ClientTls | undefined,
  credentials: AkSkCredentials | undefined,
): C {
  const { address, tls: secure } = parseGrpcTarget(target);
  const channel = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1, ...options };
  return signedClient<C>(Client, address, grpcChannelCredentials(secure, tls), channel, credentials);
}

/** The `aiges-code` trailer of a failed call, when the loader set one. */
export function aigesCodeOf(err: unknown): number | undefined {
  const metadata = (err as { metadata?: grpc.Metadata } | null)?.metadata;
  const value = metadata?.get('aiges-code')[0];
  return value === undefined ? undefined : Number(value);
}

function callOptions(timeoutMs: number | undefined): grpc.CallOptions {
  return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
}

export function infer(client: LoaderClient, request: InferRequest, timeoutMs?: number): Promise<InferResponse__Output> {
  return new Promise((resolve, reject) => {
    client.Infer(request, callOptions(timeoutMs), (err, res) => (err ? reject(err) : resolve(res as InferResponse__Output)));
  });
}

export function metadata(client: LoaderClient, service = ''): Promise<MetadataResponse__Output> {
  return new Promise((resolve, reject) => {
    client.Metadata({ service }, (err, res) => (err ? reject(err) : resolve(res as MetadataResponse__Output)));
  });
}

export interface SessionRun {
  /** Every response in order (the last has status END). */
  responses: SessionResponse__Output[];
}

/**
 * Runs a whole session: sends `open` (service, params), then each frame's items (awaiting
 * `frameDelay` between frames when given), half-closes, and collects every response.
 * `onResponse` sees each response as it arrives.
 */
export function runSession(
  client: LoaderClient,
  open: SessionRequest,
  frames: SessionRequest['items'][],
  options: { timeoutMs?: number; frameDelay?: () => Promise<void>; onResponse?: (r: SessionResponse__Output) => void } = {},
): Promise<SessionRun> {
  const call = client.Session(callOptions(options.timeoutMs));
  const responses: SessionResponse__Output[] = [];
  const done = new Promise<SessionRun>((resolve, reject) => {
    call.on('data', (r: SessionResponse__Output) => {
      responses.push(r);
      options.onResponse?.(r);
    });
    call.on('error', reject);
    call.on('end', () => resolve({ responses }));
  });
  void (async () => {
    call.write(open);
    for (const items of frames) {
      if (options.frameDelay !== undefined) await options.frameDelay();
      if (!call.write({ items })) await new Promise((r) => call.once('drain', r));
    }
    call.end();
  })().catch(() => call.cancel());
  return done;
}
