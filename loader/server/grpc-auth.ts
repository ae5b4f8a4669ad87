/**
 * AK/SK on the gRPC adapter (`[auth] mode = "aksk"`): one server interceptor checks every call but
 * grpc.health.v1 when its metadata arrives, before any message is read. The metadata form is the
 * HTTP headers' (plugins/aksk.ts, docs/security.md): `authorization`, `date`,
 * `x-ark-content-sha256`, optional `x-ark-nonce`; host is the call's `:authority`.
 *
 * What is hashed: a method with one request message (Infer, Metadata, WatchLoad) signs that
 * message's bytes as sent, checked when it arrives; a method with a request stream (Session,
 * Relay, V2 ModelStreamInfer) signs the empty body and is checked once, at its start: the stream
 * is one call, its messages ride inside it (their integrity is the transport's: TLS).
 *
 * A call signed by a balancer's key (`relay = true`) is the call of the key its `aiges-caller`
 * metadata names (the balancer checked that key's signature at its edge); on its Relay stream, each
 * frame names its caller instead (grpc-relay.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { CONTENT_SHA256_HEADER, EMPTY_CONTENT_SHA256, grpcPathAndQuery, NONCE_METADATA } from '../../plugins/aksk.js';
import { type AkSkAuth, CALLER_METADATA, type Presented, type SignedCaller } from '../auth/aksk.js';
import type { Caller } from '../dataplane/call.js';
import { grpcError } from './grpc-errors.js';

/** Methods open without a signature. */
const OPEN_PREFIX = '/grpc.health.v1.Health/';
/** Its frames name their callers (RelayFrame.caller); its metadata's `aiges-caller` is not looked at. */
const RELAY_PATH = '/aiges.v1.Loader/Relay';

const CALLER = Symbol('aiges.caller');
const SIGNER = Symbol('aiges.signer');
type Carrier = grpc.Metadata & { [CALLER]?: Caller; [SIGNER]?: SignedCaller };

/** Set by the server's decoder on each request message of a signed single-message method. */
export const REQUEST_SHA256 = Symbol('aiges.requestSha256');

/**
 * The authenticated caller of a call, from its metadata (undefined without `[auth]`): the key that
 * signed it, or the key a balancer's signed call names. A Relay stream's is always its signer.
 */
export function callerOf(metadata: grpc.Metadata): Caller | undefined {
  return (metadata as Carrier)[CALLER];
}

/** The key that signed a call (undefined without `[auth]`): a Relay stream's frames are called on its behalf. */
export function signerOf(metadata: grpc.Metadata): SignedCaller | undefined {
  return (metadata as Carrier)[SIGNER];
}

function first(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

function presented(path: string, host: string, metadata: grpc.Metadata): Presented {
  return {
    method: 'POST',
    pathAndQuery: grpcPathAndQuery(path, first(metadata, NONCE_METADATA)),
    host,
    authorization: first(metadata, 'authorization'),
    date: first(metadata, 'date'),
    contentSha256: first(metadata, CONTENT_SHA256_HEADER),
  };
}

export function authInterceptor(auth: AkSkAuth): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.path.startsWith(OPEN_PREFIX)) return new grpc.ServerInterceptingCall(call);
    const oneMessage = !method.requestStream;
    let caller: SignedCaller | undefined;
    const refuse = (err: unknown) => {
      const e = grpcError(err);
      call.sendStatus({ code: e.code ?? grpc.status.INTERNAL, details: e.details ?? e.message, metadata: e.metadata ?? null });
    };
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        let effective: Caller;
        try {
          caller = auth.authenticate(presented(method.path, call.getHost(), metadata));
          if (!oneMessage) caller.checkBody(EMPTY_CONTENT_SHA256);
          const named = first(metadata, CALLER_METADATA);
          effective = named === undefined || method.path === RELAY_PATH ? caller : caller.onBehalfOf(named);
        } catch (err) {
          return refuse(err);
        }
        (metadata as Carrier)[CALLER] = effective;
        (metadata as Carrier)[SIGNER] = caller;
        next(metadata);
      })
      .withOnReceiveMessage((message, next) => {
        if (oneMessage && caller !== undefined) {
          try {
            caller.checkBody((message as { [REQUEST_SHA256]?: string } | null)?.[REQUEST_SHA256] ?? EMPTY_CONTENT_SHA256);
          } catch (err) {
            return refuse(err);
          }
        }
        next(message);
      })
      .build();
    return new grpc.ServerInterceptingCall(call, { start: (next) => next(listener) });
  };
}
