/**
 * AK/SK at the balancer (docs/security.md, "aiges lb"): it checks each client's signature at its
 * edge, as a loader would (loader/auth/aksk.ts, with keys from polaris or a keys file), and signs
 * every hop to a loader with its own key, a balancer's key (`relay = true`), naming the caller it
 * checked: `aiges-caller` metadata on a call's own stream, `caller` in a Relay frame. A loader
 * takes that name only from a balancer's key, so no client can speak for another.
 *
 * Headers a client sent that sign or name a caller never travel on: the hop signs for itself.
 */
import { createSecretKey } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import type { AkSkAuth, SignedCaller } from '../../loader/auth/aksk.js';
import { CALLER_METADATA } from '../../loader/auth/aksk.js';
import { KeyHmac } from '../../loader/auth/digest.js';
import { signingInterceptor } from '../../loader/lib/grpc-sign.js';
import {
  type AkSkCredentials,
  authorizationHeader,
  CONTENT_SHA256_HEADER,
  grpcPathAndQuery,
  NONCE_METADATA,
  newNonce,
  stringToSign,
} from '../../plugins/aksk.js';

/** Request headers a client's signature or claimed identity travels in: dropped at the edge. */
export const SIGNING_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'date',
  CONTENT_SHA256_HEADER,
  NONCE_METADATA,
  CALLER_METADATA,
]);

const text = (value: string | string[] | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

/** Checks the signatures of the balancer's clients. */
export class EdgeAuth {
  constructor(readonly verifier: AkSkAuth) {}

  /** Checks a call's signature when its headers arrive (the body's hash later: SignedCaller.checkBody). */
  check(headers: IncomingHttpHeaders): SignedCaller {
    return this.verifier.authenticate({
      method: 'POST',
      pathAndQuery: grpcPathAndQuery(headers[':path'] ?? '', text(headers[NONCE_METADATA])),
      host: text(headers[':authority']),
      authorization: text(headers.authorization),
      date: text(headers.date),
      contentSha256: text(headers[CONTENT_SHA256_HEADER]),
    });
  }

  close(): void {
    this.verifier.close();
  }
}

/** Signs the balancer's hops to loaders with its own key. */
export class HopSigner {
  readonly #hmac: KeyHmac;

  constructor(readonly credentials: AkSkCredentials) {
    this.#hmac = new KeyHmac(createSecretKey(Buffer.from(credentials.secretKey, 'base64')));
  }

  /**
   * Signs the request headers `out` (their `:path`) for the instance at `authority`; `sha256` is
   * the hash of the call's one message (a stream: the empty body's); `caller` the key checked at
   * the edge, if any.
   */
  sign(out: OutgoingHttpHeaders, authority: string, sha256: string, caller: string | undefined): void {
    const nonce = newNonce();
    const date = new Date().toUTCString();
    const toSign = stringToSign({
      method: 'POST',
      pathAndQuery: grpcPathAndQuery(String(out[':path']), nonce),
      date,
      host: authority,
      contentSha256: sha256,
    });
    out.date = date;
    out[CONTENT_SHA256_HEADER] = sha256;
    out[NONCE_METADATA] = nonce;
    out.authorization = authorizationHeader(this.credentials.accessKey, this.#hmac.digest(toSign).toString('base64'));
    if (caller !== undefined) out[CALLER_METADATA] = caller;
  }

  /** Signs every call of a grpc-js client of the instance at `authority` (its WatchLoad stream). */
  interceptor(authority: string): grpc.Interceptor {
    return signingInterceptor(this.credentials, authority);
  }
}
