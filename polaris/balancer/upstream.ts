/**
 * How the balancer dials an instance: in plaintext, or over TLS when its record says `tls: true`
 * (a loader with `[server.tls]`; records without the field are plaintext). Over TLS it trusts the
 * `--upstream-ca-file` CA (default Node's bundled roots) and presents the `--upstream-cert-file`
 * certificate to loaders that require client certificates. The files are followed as they change:
 * each new connection takes those in use then (TlsFiles).
 *
 * With a HopSigner (`aiges lb --access-key`), every stream to an instance is signed with the
 * balancer's key (edge-auth.ts).
 *
 * NOTE: the instance's certificate must name the host it registers (`[polaris] advertise_host`, or
 * the address it binds): that is the name checked, as for any TLS client.
 */
import http2, { type ClientHttp2Session, type ClientSessionOptions } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { TlsFiles } from '../../loader/lib/tls-files.js';
import type { HopSigner } from './edge-auth.js';

/** What the balancer brings to every instance: its upstream TLS files and its key. */
export interface Hop {
  /** The balancer's upstream TLS files; absent: Node's roots, no client certificate. */
  files?: TlsFiles | undefined;
  /** Signs each stream to an instance; absent: streams go unsigned. */
  signer?: HopSigner | undefined;
}

export interface Upstream extends Hop {
  /** Whether the instance speaks TLS (its record's `tls`). */
  tls: boolean;
}

export const PLAINTEXT: Upstream = { tls: false };

/** grpc-js credentials of a channel to the instance. */
export function channelCredentials(upstream: Upstream): grpc.ChannelCredentials {
  if (!upstream.tls) return grpc.credentials.createInsecure();
  const files = upstream.files;
  if (files === undefined) return grpc.credentials.createSsl();
  return grpc.experimental.createCertificateProviderChannelCredentials(files, files.hasIdentity ? files : null);
}

/** An HTTP/2 connection to the instance at `address` (host:port). */
export function connectH2(address: string, upstream: Upstream, options: ClientSessionOptions): ClientHttp2Session {
  if (!upstream.tls) return http2.connect(`http://${address}`, options);
  const secureContext = upstream.files?.secureContext;
  return http2.connect(`https://${address}`, secureContext === undefined ? options : { ...options, secureContext });
}
