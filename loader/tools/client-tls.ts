/**
 * TLS of the client tools (`aiges call`, `aiges xtest`, the TS client): the target says whether calls
 * go over TLS — `grpcs://host:port` for gRPC, `https://…` for HTTP — and the files say whom to trust
 * (a CA bundle; default Node's bundled roots) and, for mutual TLS, who the client is (a certificate
 * and its key). Files given for a plaintext target are an error, never ignored: a call meant to be
 * protected never goes out in clear.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

/** The files a TLS client may use (CLI: --ca-file, --cert-file, --key-file). */
export interface ClientTlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** What the files hold (PEM). */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const GRPC_SCHEME = /^(grpcs?):\/\//;

/** "grpcs://host:port" → TLS; "grpc://host:port" and "host:port" → plaintext. */
export function parseGrpcTarget(target: string): { address: string; tls: boolean } {
  const m = GRPC_SCHEME.exec(target);
  return { address: m === null ? target : target.slice(m[0].length), tls: m?.[1] === 'grpcs' };
}

/** Whether any file is given. */
export function hasTlsFiles(files: ClientTlsFiles): boolean {
  return files.caFile !== undefined || files.certFile !== undefined || files.keyFile !== undefined;
}

/**
 * Reads the files. `fail` makes the error thrown for a file that cannot be read (`unreadable`), or
 * for a certificate without its key or a key without its certificate.
 */
export function readClientTls(files: ClientTlsFiles, fail: (message: string, unreadable: boolean) => Error): ClientTls {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw fail('a client certificate (--cert-file) and its key (--key-file) go together', false);
  }
  const read = (file: string | undefined, what: string) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw fail(`cannot read the ${what} ${file}: ${(err as Error).message}`, true);
    }
  };
  const ca = read(files.caFile, 'CA file');
  const cert = read(files.certFile, 'client certificate file');
  const key = read(files.keyFile, 'client key file');
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}

/** Channel credentials for a target: TLS with `tls` (or Node's roots) for grpcs://, else plaintext. */
export function grpcChannelCredentials(secure: boolean, tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (!secure) {
    if (tls !== undefined && Object.keys(tls).length > 0) {
      throw new Error('TLS files were given for a plaintext target: write it grpcs://host:port');
    }
    return grpc.credentials.createInsecure();
  }
  return grpc.credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null);
}
