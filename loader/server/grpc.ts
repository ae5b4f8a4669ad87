/**
 * The gRPC adapter: aiges.v1.Loader (Infer, Session, Metadata, WatchLoad, Relay),
 * inference.GRPCInferenceService (the Open Inference Protocol V2, grpc-v2.ts) and
 * grpc.health.v1.Health. Converts wire messages to domain types and calls the data plane; nothing else.
 * With `[auth] mode = "aksk"` every method but Health needs a signed call (grpc-auth.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { AigesError, Codes, named } from '../errors.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { Cancellable } from '../dataplane/call.js';
import type { HealthState } from '../health.js';
import type { TlsFiles } from '../lib/tls-files.js';
import { grpcServerCredentials } from '../lib/tls-servers.js';
import { INFERENCE_PROTO, loadHealthProto, loadInferenceProto, loadLoaderProto, messageEncoder } from '../../proto/load.js';
import { installRoot } from '../lib/install-root.js';
import { type ModelInferCodec, v2Handlers } from './grpc-v2.js';
import type { RepositoryControl } from './v2-repository.js';
import { serveStreamInfer, type StreamInferCodec } from './grpc-v2-stream.js';
import type { LoaderHandlers } from '../../proto/gen/aiges/v1/Loader.js';
import type { HealthHandlers } from '../../proto/gen/grpc/health/v1/Health.js';
import { contentSha256 } from '../../plugins/aksk.js';
import type { AkSkAuth } from '../auth/aksk.js';
import { authInterceptor, callerOf, REQUEST_SHA256, signerOf } from './grpc-auth.js';
import { grpcError } from './grpc-errors.js';
import { metadataToWire } from './grpc-convert.js';
import { type InferCodec, inferOnWire } from './grpc-infer.js';
import { watchLoad } from './grpc-load.js';
import { clientDeadline, type DefaultDeadlines, guardDeadlines } from './grpc-deadline.js';
import { serveRelay } from './grpc-relay.js';
import { serveSession } from './grpc-session.js';

type SurfaceCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

export interface GrpcServerDeps {
  dataplane: Dataplane;
  health: HealthState;
  maxMessageBytes: number;
  /** The id this loader registers under in polaris, echoed in load reports (absent: standalone). */
  instanceId?: string | undefined /** AK/SK checks (`[auth] mode = "aksk"`); absent: every method is open. */;
  auth?: AkSkAuth | undefined;
  /** The model repository (`[repository]`), for the V2 repository methods; absent: none. */
  models?: RepositoryControl | undefined;
}

/** Room for the envelope (keys, params, headers) around the payload bytes. */
const ENVELOPE_BYTES = 64 * 1024;

/** Marks a message grpc-js could not decode; the handler answers it with 10009. */
const MALFORMED = Symbol('malformed');
interface Malformed {
  [MALFORMED]: string;
}

/** The error for a message grpc-js could not decode, else undefined. */
function malformedError(value: unknown): AigesError | undefined {
  if (typeof value !== 'object' || value === null || !(MALFORMED in value)) return undefined;
  return new AigesError(Codes.INVALID_DATA, `malformed protobuf message: ${(value as Malformed)[MALFORMED]}`);
}

/**
 * Wraps each method's codec: a request grpc-js cannot decode reaches the handler as a value
 * (answered 10009), and a response already serialized (a Buffer: Infer's shared path) is sent as is.
 * With `hashRequests`, each request message of a single-message method carries the SHA-256 of its
 * bytes as received, which a signed call's hash must match (grpc-auth.ts).
 */
function tolerantService<T extends grpc.ServiceDefinition>(service: T, hashRequests: boolean): T {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    const decode = (bytes: Buffer): object => {
      try {
        return method.requestDeserialize(bytes) as object;
      } catch (err) {
        return { [MALFORMED]: (err as Error).message } satisfies Malformed;
      }
    };
    out[name] = {
      ...method,
      requestDeserialize:
        hashRequests && !method.requestStream
          ? (bytes: Buffer) => Object.assign(decode(bytes), { [REQUEST_SHA256]: contentSha256(bytes) })
          : decode,
      responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : method.responseSerialize(value)),
    };
  }
  return out as unknown as T;
}

/** The client's deadline, as grpc-deadline.ts passed it on (grpc-js's own is its backstop). */
function deadlineOf(call: SurfaceCall): number | undefined {
  return clientDeadline(call.metadata);
}

const CANCEL_TARGET = Symbol('aiges.cancelTarget');
type CancellableCall = grpc.ServerUnaryCall<unknown, unknown> & { [CANCEL_TARGET]?: Cancellable };

/** One listener function for every call (no closure per call): grpc-js's 'cancelled' cancels the data plane's call. */
function onCancelled(this: CancellableCall): void {
  this[CANCEL_TARGET]?.cancel();
}

/** Subscribes the data plane's call to the client cancelling (grpc-js also emits 'cancelled' after a call ends: a no-op then). */
function cancelOnCancelled(call: CancellableCall, target: Cancellable): void {
  call[CANCEL_TARGET] = target;
  call.on('cancelled', onCancelled);
}

function loaderHandlers({ dataplane, health, instanceId }: GrpcServerDeps): LoaderHandlers {
  const codec = loadLoaderProto().aiges.v1.Loader.service.Infer as unknown as InferCodec;
  return {
    Infer(call, callback) {
      const bad = malformedError(call.request);
      if (bad !== undefined) return callback(grpcError(bad));
      inferOnWire(dataplane, codec, call.request, {
        deadline: deadlineOf(call),
        caller: callerOf(call.metadata),
        onCancel: (target) => cancelOnCancelled(call, target),
      }).then(
        // The response is serialized already (tolerantService sends a Buffer as is).
        (bytes) => callback(null, bytes as never),
        (err: unknown) => callback(grpcError(err)),
      );
    },

    Metadata(call, callback) {
      const bad = malformedError(call.request);
      if (bad !== undefined) return callback(grpcError(bad));
      try {
        callback(null, metadataToWire(dataplane.metadata(call.request.service, callerOf(call.metadata))));
      } catch (err) {
        callback(grpcError(err));
      }
    },

    Session(call) {
      serveSession(call, dataplane, { deadline: deadlineOf(call), caller: callerOf(call.metadata) }, malformedError);
    },

    WatchLoad(call) {
      const bad = malformedError(call.request);
      // grpc-js sends a stream's error status when 'error' is emitted on it.
      if (bad !== undefined) return void call.emit('error', grpcError(bad));
      watchLoad(call, { admission: dataplane.admission, health, instanceId });
    },

    Relay(call) {
      serveRelay(call, {
        dataplane,
        codec,
        caller: signerOf(call.metadata),
        malformedFrame: malformedError,
        onHealth: (listener) => health.onChange(listener),
      });
    },
  };
}

function healthHandlers({ health, dataplane }: GrpcServerDeps): HealthHandlers {
  const statusOf = (service: string) => {
    if (service !== '' && service !== 'aiges.v1.Loader') {
      try {
        dataplane.metadata(service);
      } catch {
        return undefined;
      }
    }
    return health.ready ? 'SERVING' : 'NOT_SERVING';
  };
  return {
    Check(call, callback) {
      const status = statusOf(call.request.service);
      if (status === undefined) {
        return callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${named(call.request.service)}` });
      }
      callback(null, { status });
    },
    Watch(call) {
      const send = () => call.write({ status: statusOf(call.request.service) ?? 'SERVICE_UNKNOWN' });
      send();
      // NOTE: end the stream once stopped: an open Watch would hold the server's graceful shutdown forever.
      const off = health.onChange((state) => (state === 'stopped' ? call.end() : send()));
      call.once('cancelled', off);
      call.once('close', off);
    },
  };
}

/** Each loader server's deadline defaults, for bindGrpc. */
const deadlineDefaults = new WeakMap<grpc.Server, () => DefaultDeadlines>();

export function createGrpcServer(deps: GrpcServerDeps): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': deps.maxMessageBytes + ENVELOPE_BYTES,
    'grpc.max_send_message_length': -1,
    interceptors: deps.auth === undefined ? [] : [authInterceptor(deps.auth)],
  });
  deadlineDefaults.set(server, () => deps.dataplane.limits);
  server.addService(tolerantService(loadLoaderProto().aiges.v1.Loader.service, deps.auth !== undefined), loaderHandlers(deps));
  const inference = loadInferenceProto().inference.GRPCInferenceService.service;
  // V2 responses are built by the adapter alone, in the wire's types: encoded without proto-loader's conversion.
  const onceCodec: ModelInferCodec = { responseSerialize: messageEncoder(INFERENCE_PROTO, 'inference.ModelInferResponse') };
  const streamCodec: StreamInferCodec = { responseSerialize: messageEncoder(INFERENCE_PROTO, 'inference.ModelStreamInferResponse') };
  const v2 = v2Handlers(
    {
      dataplane: deps.dataplane,
      health: deps.health,
      version: installRoot().version,
      models: deps.models,
      malformed: malformedError,
      callOptions: (call) => ({
        deadline: deadlineOf(call),
        caller: callerOf(call.metadata),
        onCancel: (target) => cancelOnCancelled(call, target),
      }),
      streamInfer: (call) =>
        serveStreamInfer(call, {
          dataplane: deps.dataplane,
          codec: streamCodec,
          malformed: malformedError,
          options: { deadline: deadlineOf(call as never), caller: callerOf(call.metadata) },
        }),
    },
    onceCodec,
  );
  server.addService(tolerantService(inference, deps.auth !== undefined), v2);
  server.addService(loadHealthProto().grpc.health.v1.Health.service, healthHandlers(deps));
  return server;
}

/** Binds and resolves with the port (0 picks a free one); TLS from `tls` when given (lib/tls-servers.ts). */
export function bindGrpc(server: grpc.Server, host: string, port: number, tls?: TlsFiles): Promise<number> {
  return new Promise((resolve, reject) => {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    server.bindAsync(address, grpcServerCredentials(tls), (err, bound) => {
      if (err) return reject(err);
      try {
        guardDeadlines(server, deadlineDefaults.get(server));
      } catch (error) {
        return reject(error);
      }
      resolve(bound);
    });
  });
}
