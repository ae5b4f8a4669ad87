/**
 * AK/SK signing of grpc-js calls, for the aiges.v1 client and the balancer's WatchLoad streams
 * (docs/security.md, gRPC form): each call gets `authorization`, `date`, `x-ark-content-sha256`
 * and a fresh `x-ark-nonce` in its metadata. A
 * call with one request message signs that message's bytes, so its metadata waits for the message:
 * the message is serialized once here and passed on as bytes (the client's codec sends a Buffer as
 * is: `bufferPassing`). A call with a request stream signs the empty body when it starts.
 */
import * as grpc from '@grpc/grpc-js';
import { type AkSkCredentials, grpcPathAndQuery, newNonce, NONCE_METADATA, signRequest } from '../../plugins/aksk.js';

/** The `:authority` grpc-js sends for a target: `host:port` (with a `dns:///` scheme taken off). */
export function authorityOf(address: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:(?:\/\/[^/]*\/)?/i.exec(address);
  return scheme === null || /^[^:]+:\d+$/.test(address) ? address : address.slice(scheme[0].length);
}

/** A service definition whose request serializers send a Buffer as is (bytes serialized already). */
export function bufferPassing<T extends grpc.ServiceDefinition>(service: T): T {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    out[name] = { ...method, requestSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : method.requestSerialize(value)) };
  }
  return out as unknown as T;
}

function signInto(metadata: grpc.Metadata, credentials: AkSkCredentials, path: string, authority: string, body: Buffer | undefined): void {
  const nonce = newNonce();
  const headers = signRequest(credentials, { method: 'POST', pathAndQuery: grpcPathAndQuery(path, nonce), host: authority, body });
  metadata.set(NONCE_METADATA, nonce);
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
}

/** A generated client class (proto-loader's): its constructor and its service definition. */
export interface ClientConstructor<C> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): C;
  readonly service: grpc.ServiceDefinition;
}

/**
 * A client of `Client`'s service at `address`; with `credentials`, every call is signed.
 * NOTE: the authority is then set, not left to grpc-js: the signature covers it, so both must agree.
 */
export function signedClient<C>(
  Client: ClientConstructor<C>,
  address: string,
  channel: grpc.ChannelCredentials,
  options: grpc.ClientOptions,
  credentials: AkSkCredentials | undefined,
): C {
  if (credentials === undefined) return new Client(address, channel, options);
  const authority = (options['grpc.default_authority'] as string | undefined) ?? authorityOf(address);
  const Signed = grpc.makeGenericClientConstructor(bufferPassing(Client.service), 'Signed');
  return new Signed(address, channel, {
    ...options,
    'grpc.default_authority': authority,
    interceptors: [...(options.interceptors ?? []), signingInterceptor(credentials, authority)],
  }) as unknown as C;
}

/** Signs every call of a client whose channel's authority is `authority`. */
export function signingInterceptor(credentials: AkSkCredentials, authority: string): grpc.Interceptor {
  return (options, nextCall) => {
    const method = options.method_definition;
    let held: { metadata: grpc.Metadata; listener: grpc.Listener; next: (m: grpc.Metadata, l: grpc.Listener) => void } | undefined;
    const requester = new grpc.RequesterBuilder()
      .withStart((metadata, listener, next) => {
        if (method.requestStream) {
          signInto(metadata, credentials, method.path, authority, undefined);
          next(metadata, listener);
        } else {
          held = { metadata, listener, next };
        }
      })
      .withSendMessage((message, next) => {
        if (held === undefined) return next(message);
        const bytes = method.requestSerialize(message);
        signInto(held.metadata, credentials, method.path, authority, bytes);
        held.next(held.metadata, held.listener);
        held = undefined;
        next(bytes);
      })
      .build();
    return new grpc.InterceptingCall(nextCall(options), requester);
  };
}
