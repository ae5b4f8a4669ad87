/**
 * AK/SK request signing (HMAC-SHA256): what a client computes to call a loader that runs with
 * `[auth] mode = "aksk"` (docs/security.md). The loader checks signatures with these same
 * functions (loader/auth/), so the string to sign is defined once.
 *
 * - `x-ark-content-sha256` = base64(SHA-256(body)); a request without a body hashes the empty string.
 * - string to sign = `VERB + "\n" + path-and-query + "\n" + date + ";" + host + ";" + content-hash`,
 *   with `date` the RFC 1123 GMT date header sent.
 * - signature = base64(HMAC-SHA256(base64-decode(secret key), string to sign)).
 * - `authorization: HMAC-SHA256 Credential=<access key>&SignedHeaders=date;host;x-ark-content-sha256&Signature=<signature>`.
 *
 * gRPC carries the same headers as metadata; VERB is `POST`, host the call's `:authority`, and
 * path-and-query the method path (`/aiges.v1.Loader/Infer`), followed by `?nonce=<value>` when the
 * call carries `x-ark-nonce` metadata. A unary call hashes its serialized request message; a
 * streaming call hashes the empty string (it is checked once, when it starts).
 */
import { createHmac, hash, type KeyObject, randomBytes } from 'node:crypto';

export const AKSK_ALGORITHM = 'HMAC-SHA256';
/** The signed headers, in the order the string to sign takes them. */
export const AKSK_SIGNED_HEADERS = 'date;host;x-ark-content-sha256';
export const CONTENT_SHA256_HEADER = 'x-ark-content-sha256';
/** gRPC metadata: a value that makes a call's signature unique (signed as `?nonce=<value>`). */
export const NONCE_METADATA = 'x-ark-nonce';

/** base64(SHA-256(body)). */
export function contentSha256(body: Uint8Array | string = ''): string {
  // NOTE: the one-shot hash: no Hash object per call.
  return hash('sha256', body, 'base64');
}

/** The SHA-256 of an empty body: what a GET request and a streaming gRPC call sign. */
export const EMPTY_CONTENT_SHA256 = contentSha256('');

/** What is signed of one request. */
export interface SignedParts {
  /** HTTP method in capitals (gRPC: POST). */
  method: string;
  /** The request target as sent: path plus query (gRPC: the method path, plus `?nonce=…`). */
  pathAndQuery: string;
  /** The `date` header, RFC 1123 in GMT. */
  date: string;
  /** The `host` header (gRPC: `:authority`). */
  host: string;
  /** The `x-ark-content-sha256` header. */
  contentSha256: string;
}

export function stringToSign(p: SignedParts): string {
  return `${p.method}\n${p.pathAndQuery}\n${p.date};${p.host};${p.contentSha256}`;
}

/** HMAC-SHA256(secret, string to sign); `secret` is the decoded key (or a KeyObject of it). */
export function hmacSha256(secret: Uint8Array | KeyObject, toSign: string): Buffer {
  return createHmac('sha256', secret).update(toSign).digest();
}

export function authorizationHeader(accessKey: string, signature: string): string {
  return `${AKSK_ALGORITHM} Credential=${accessKey}&SignedHeaders=${AKSK_SIGNED_HEADERS}&Signature=${signature}`;
}

/** An access key and its secret, base64 as issued. */
export interface AkSkCredentials {
  accessKey: string;
  secretKey: string;
}

export interface RequestToSign {
  method: string;
  pathAndQuery: string;
  host: string;
  /** The exact bytes sent (none: the empty body). */
  body?: Uint8Array | string | undefined;
  /** Default: now. */
  date?: Date | undefined;
}

/** The headers that sign one request (send them with the request's own `host`). */
export type SignatureHeaders = {
  date: string;
  'x-ark-content-sha256': string;
  authorization: string;
};

/**
 * Signs one request. The loader refuses a signature it has seen within its clock-skew window
 * (replay), and `date` has whole seconds: a client sending the same request twice in one second
 * makes it differ, e.g. with a `nonce` query parameter (gRPC: `x-ark-nonce` metadata, `newNonce()`).
 */
export function signRequest(credentials: AkSkCredentials, request: RequestToSign): SignatureHeaders {
  const date = (request.date ?? new Date()).toUTCString();
  const hash = contentSha256(request.body ?? '');
  const toSign = stringToSign({
    method: request.method.toUpperCase(),
    pathAndQuery: request.pathAndQuery,
    date,
    host: request.host,
    contentSha256: hash,
  });
  const signature = hmacSha256(Buffer.from(credentials.secretKey, 'base64'), toSign).toString('base64');
  return { date, 'x-ark-content-sha256': hash, authorization: authorizationHeader(credentials.accessKey, signature) };
}

/** A fresh random nonce (URL- and metadata-safe). */
export function newNonce(): string {
  return randomBytes(12).toString('base64url');
}

/** The path-and-query a gRPC call signs: its method path, with the nonce as query when it has one. */
export function grpcPathAndQuery(methodPath: string, nonce: string | undefined): string {
  return nonce === undefined || nonce === '' ? methodPath : `${methodPath}?nonce=${nonce}`;
}
