/**
 * Serving TLS from a TlsFiles: the options a Node TLS server is made with, keeping it on the files
 * in use, and grpc-js server credentials that follow them. With a CA file the server requires a
 * client certificate that chains to it (mutual TLS); a client without one, or with one of another
 * CA, fails the handshake.
 */
import type { Server as TlsServer, TlsOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { TlsFiles } from './tls-files.js';

/** Options of an https or HTTP/2 secure server serving `files`. */
export function secureServerOptions(files: TlsFiles): TlsOptions {
  return { ...files.contextOptions(), requestCert: files.hasCa, rejectUnauthorized: files.hasCa };
}

/** Keeps `server` on the files in use: each reload becomes the secure context of new connections. */
export function followTlsFiles(server: TlsServer, files: TlsFiles): void {
  const off = files.onChange((material) => server.setSecureContext(material));
  server.once('close', off);
}

/** Server credentials for grpc-js: plaintext without `files`, else TLS (mutual with a CA) following them. */
export function grpcServerCredentials(files: TlsFiles | undefined): grpc.ServerCredentials {
  if (files === undefined) return grpc.ServerCredentials.createInsecure();
  // NOTE: grpc-js names this function's first parameter the CA provider, but uses it as the
  // identity provider (server-credentials.ts): identity first, then the CA of client certificates.
  return grpc.experimental.createCertificateProviderServerCredentials(files, files.hasCa ? files : null, files.hasCa);
}
