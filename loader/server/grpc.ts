/**
 * The gRPC adapter: aiges.v1.Loader (Infer, Session, Metadata, WatchLoad, Relay) and grpc.health.v1.Health.
 * Converts wire messages to domain types and calls the data plane; nothing else.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { AigesError, Codes, toAigesError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { Cancellable } from '../dataplane/deadline.js';
import type { HealthState } from '../health.js';
import type { Session } from '../dataplane/session.js';
import { loadHealthProto, loadLoaderProto } from '../../proto/load.js';
import type { LoaderHandlers } from '../../proto/gen/aiges/v1/Loader.js';
import type { SessionRequest__Output } from '../../proto/gen/aiges/v1/SessionRequest.js';
import type { HealthHandlers } from '../../proto/gen/grpc/health/v1/Health.js';
import type { DataItem } from '../../plugins/types.js';
import { grpcError } from './grpc-errors.js';
import { itemFromWire, itemToWire, metadataToWire } from './grpc-convert.js';
import { watchLoad } from './grpc-load.js';
import { serveRelay, type InferCodec } from './grpc-relay.js';

type SurfaceCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

export interface GrpcServerDeps {
  dataplane: Dataplane;
  health: HealthState;
  log: Logger;
  maxMessageBytes: number;
  /** How long a session stream may wait for its open message (the session idle timeout). */
  sessionIdleTimeoutMs: number;
  /** The id this loader registers under in polaris, echoed in load reports (absent: standalone). */
  instanceId?: string | undefined;
}

/** Room for the envelope (keys, params, headers) around the payload bytes. */
const ENVELOPE_BYTES = 64 * 1024;

/** Marks a message grpc-js could not decode; the handler answers it with 10009. */
const MALFORMED = Symbol('malformed');
interface Malformed {
  [MALFORMED]: string;
}

function isMalformed(value: unknown): value is Malformed {
  return typeof value === 'object' && value !== null && MALFORMED in value;
}

/** Wraps each method's request decoder so malformed protobuf reaches the handler as a value. */
function tolerantService<T extends grpc.ServiceDefinition>(service: T): T {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          return { [MALFORMED]: (err as Error).message } satisfies Malformed;
        }
      },
    };
  }
  return out as unknown as T;
}

function malformed(value: Malformed): AigesError {
  return new AigesError(Codes.INVALID_DATA, `malformed protobuf message: ${value[MALFORMED]}`);
}

function deadlineOf(call: SurfaceCall): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

function cancelSignal(call: SurfaceCall): AbortSignal {
  const controller = new AbortController();
  call.once('cancelled', () => controller.abort());
  return controller.signal;
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

function loaderHandlers({ dataplane, health, log, instanceId, sessionIdleTimeoutMs: openTimeoutMs }: GrpcServerDeps): LoaderHandlers {
  const inferCodec = loadLoaderProto().aiges.v1.Loader.service.Infer as unknown as InferCodec;
  return {
    Infer(call, callback) {
      const req = call.request as typeof call.request | Malformed;
      if (isMalformed(req)) return callback(grpcError(malformed(req)));
      let items: DataItem[];
      try {
        items = req.items.map(itemFromWire);
      } catch (err) {
        return callback(grpcError(err));
      }
      dataplane
        .infer(
          { service: req.service, params: req.params, headers: req.headers, items },
          { deadline: deadlineOf(call), onCancel: (target) => cancelOnCancelled(call, target) },
        )
        .then(
          (out) => {
            callback(null, { items: out.map(itemToWire) });
            // NOTE: grpc-js serializes the response inside callback (no server interceptors here),
            // so the output's bytes are on their way and its memory can go back at once.
            dataplane.releaseOutputs(out);
          },
          (err: unknown) => callback(grpcError(err)),
        );
    },

    Metadata(call, callback) {
      const req = call.request as typeof call.request | Malformed;
      if (isMalformed(req)) return callback(grpcError(malformed(req)));
      try {
        callback(null, metadataToWire(dataplane.metadata(req.service)));
      } catch (err) {
        callback(grpcError(err));
      }
    },

    Session(call) {
      void runSession(call, dataplane, openTimeoutMs).catch((err: unknown) => {
        log.error({ err }, 'session stream failed');
        call.emit('error', grpcError(err));
      });
    },

    WatchLoad(call) {
      watchLoad(call, { admission: dataplane.admission, health, instanceId });
    },

    Relay(call) {
      serveRelay(call, {
        dataplane,
        codec: inferCodec,
        malformedFrame: (frame) => (isMalformed(frame) ? malformed(frame) : undefined),
        onHealth: (listener) => health.onChange(listener),
      });
    },
  };
}

type SessionCall = grpc.ServerDuplexStream<SessionRequest__Output, unknown>;

async function runSession(call: SessionCall, dataplane: Dataplane, openTimeoutMs: number): Promise<void> {
  const signal = cancelSignal(call);
  // NOTE: destroyOnReturn false: the client's half-close ends our input only; the default
  // iterator would destroy the whole duplex and lose the results still to be sent.
  const messages = (call.iterator({ destroyOnReturn: false }) as AsyncIterable<SessionRequest__Output | Malformed>)[Symbol.asyncIterator]();
  let session: Session | undefined;
  const next = async () => {
    const n = await messages.next();
    if (n.done === true) return undefined;
    if (isMalformed(n.value)) throw malformed(n.value);
    return n.value;
  };
  try {
    // Before the open message there is no session (and no slot): bound the wait like idleness.
    let timer: NodeJS.Timeout | undefined;
    const first = await Promise.race([
      next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new AigesError(Codes.SESSION_TIMEOUT, `no open message within ${openTimeoutMs} ms`)),
          openTimeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (first === undefined) throw new AigesError(Codes.INVALID_OP, 'session stream ended before its open message');
    const opened = await dataplane.openSession(
      { service: first.service, params: first.params, headers: first.headers },
      { deadline: deadlineOf(call), signal },
    );
    session = opened;
    const input = (async () => {
      if (first.items.length > 0) await opened.write(first.items.map(itemFromWire));
      for (let msg = await next(); msg !== undefined; msg = await next()) {
        await opened.write(msg.items.map(itemFromWire));
      }
      await opened.end();
    })();
    input.catch((err: unknown) => opened.cancel(toAigesError(err)));
    for await (const result of opened.results()) {
      const ok = call.write({ items: result.items.map(itemToWire), status: result.status, sid: opened.sid });
      if (!ok) await once(call, 'drain', { signal });
    }
    call.end();
  } catch (err) {
    const error = toAigesError(err);
    session?.cancel(error);
    // grpc-js sends a stream's error status when 'error' is emitted on it (destroy would not).
    if (!signal.aborted) call.emit('error', grpcError(error));
  }
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
        return callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
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

export function createGrpcServer(deps: GrpcServerDeps): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': deps.maxMessageBytes + ENVELOPE_BYTES,
    'grpc.max_send_message_length': -1,
  });
  server.addService(tolerantService(loadLoaderProto().aiges.v1.Loader.service), loaderHandlers(deps));
  server.addService(loadHealthProto().grpc.health.v1.Health.service, healthHandlers(deps));
  return server;
}

/** Binds and resolves with the port (0 picks a free one). */
export function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}
