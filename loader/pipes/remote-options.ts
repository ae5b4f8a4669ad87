/**
 * `[pipes]`: how `ctx.infer` calls reach other loaders and V2 servers (remote-grpc.ts,
 * remote-v2.ts): the AK/SK credentials every remote call is signed with, and the TLS files for
 * `grpcs://` addresses. Read once at startup.
 */
import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { AkSkCredentials } from '../../plugins/aksk.js';
import { ConfigError } from '../config/load.js';
import type { PipesSettings } from '../config/schema.js';
import { type ClientTls, grpcChannelCredentials, hasTlsFiles, readClientTls } from '../tools/client-tls.js';

/** How remote calls are made: `[pipes]` read (pipeOptions). */
export interface RemoteOptions {
  /** Signs every call. */
  credentials?: AkSkCredentials | undefined;
  /** For `grpcs://` addresses; absent: Node's roots, no client certificate. */
  tls?: ClientTls | undefined;
}

/** `[pipes]` as the remote uses it: the secret and TLS files read. Throws ConfigError naming the file. */
export function pipeOptions(settings: PipesSettings): RemoteOptions {
  const fail = (message: string) => new ConfigError(`[pipes] ${message}`);
  let credentials: AkSkCredentials | undefined;
  if (settings.access_key !== undefined && settings.secret_key_file !== undefined) {
    let secretKey: string;
    try {
      secretKey = readFileSync(settings.secret_key_file, 'utf8').trim();
    } catch (err) {
      throw fail(`cannot read secret_key_file ${settings.secret_key_file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    // NOTE: the message never quotes the file: it holds the secret.
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secretKey)) throw fail(`secret_key_file ${settings.secret_key_file} does not hold a base64 secret`);
    credentials = { accessKey: settings.access_key, secretKey };
  }
  const files = { caFile: settings.ca_file, certFile: settings.cert_file, keyFile: settings.key_file };
  const tls = hasTlsFiles(files) ? readClientTls(files, (message) => fail(message)) : undefined;
  return { credentials, tls };
}

/** TLS with `[pipes]`'s files (or Node's roots) for a grpcs:// address, else plaintext. */
export function channelCredentials(tls: boolean, options: RemoteOptions): grpc.ChannelCredentials {
  return grpcChannelCredentials(tls, tls ? options.tls : undefined);
}
