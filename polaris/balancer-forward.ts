/**
 * The balancer's forwarding handlers for aiges.v1.Loader. Messages stay wire bytes (grpc-js
 * generic handlers with identity serializers): only the `service` field is read, to route.
 * Status, details, response headers and trailers (`aiges-code` among them) come back from the
 * instance as they are.
 *
 * Once calls (Infer, Metadata) are retried ONCE, on another instance, when the first answers
 * RESOURCE_EXHAUSTED with aiges-code 10110 (capacity full; not 10201, a payload too large
 * anywhere) or UNAVAILABLE (draining, or the connection failed), and no response message came
 * back. NOTE: a call that fails UNAVAILABLE because its instance died after the request was sent
 * may have run there; retrying it assumes once calls are idempotent, which holds in this system
 * (a once call is one self-contained inference with no side effects the loader knows of).
 *
 * A session is one bidi stream proxied to one instance for its whole life, never retried: its
 * frames go to the instance as they arrive.
 */
import * as grpc from '@grpc/grpc-js';
import { AigesError, Codes } from '../loader/errors.js';
import { grpcError } from '../loader/server/grpc-errors.js';
import type { Endpoint } from './balancer-endpoint.js';
import { applicationMetadata, nonEmptyApplicationMetadata } from './balancer-metadata.js';
import type { ServicePool } from './balancer-pool.js';
import { serviceOf } from './balancer-route.js';

/** Request metadata that names the polaris service to route to, over the message's `service`. */
export const SERVICE_METADATA = 'aiges-service';
/** How long a call may wait for a first instance of a service that is still connecting. */
export const STARTUP_WAIT_MS = 2_000;
/** How long a session stream may take to send its open message (the loader's default idle timeout). */
export const SESSION_OPEN_TIMEOUT_MS = 10_000;

export interface Router {
  /** The pool serving `service`; throws (10200) when the balancer does not front it. */
  pool(service: string): ServicePool | Promise<ServicePool>;
}

type Picked = (err: unknown, pool?: ServicePool, endpoint?: Endpoint) => void;

const identity = (bytes: Buffer): Buffer => bytes;

function noInstance(service: string): AigesError {
  return new AigesError(Codes.INSTANCE_INACTIVE, `no live instance of service "${service}"`);
}

function deadlineMs(deadline: grpc.Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** Routes `service` and picks an instance; synchronous when the pool is open and has one live. */
function pickFor(router: Router, service: string, deadline: grpc.Deadline, done: Picked): void {
  const withPool = (pool: ServicePool) => {
    const endpoint = pool.pick();
    if (endpoint !== undefined) return done(null, pool, endpoint);
    if (pool.connecting === 0) return done(noInstance(service));
    // NOTE: instances just discovered (e.g. right after the balancer starts) are still opening
    // their load stream; wait a moment for one rather than fail the call.
    const wait = Math.min(STARTUP_WAIT_MS, deadlineMs(deadline) - Date.now());
    void pool.whenLive(Math.max(0, wait)).then(() => {
      const later = pool.pick();
      if (later === undefined) done(noInstance(service));
      else done(null, pool, later);
    });
  };
  let routed: ServicePool | Promise<ServicePool>;
  try {
    routed = router.pool(service);
  } catch (err) {
    return done(err);
  }
  if ('pick' in routed) withPool(routed);
  else routed.then(withPool, (err: unknown) => done(err));
}

/**
 * The routing key: request metadata `aiges-service` when set (a polaris service name that is not
 * the plugin's id: the request's own `service` may then stay empty), else the `service` field.
 */
function readService(bytes: Buffer, metadata: grpc.Metadata): string {
  const named = metadata.get(SERVICE_METADATA)[0];
  if (typeof named === 'string' && named !== '') return named;
  try {
    return serviceOf(bytes);
  } catch (err) {
    throw new AigesError(Codes.INVALID_DATA, `malformed protobuf message: ${(err as Error).message}`);
  }
}

function mayRetry(status: grpc.StatusObject): boolean {
  if (status.code === grpc.status.UNAVAILABLE) return true;
  return status.code === grpc.status.RESOURCE_EXHAUSTED && status.metadata.get('aiges-code')[0] === String(Codes.CAPACITY);
}

/** A unary method (Infer, Metadata) forwarded as bytes, with the one retry. */
export function unaryForwarder(path: string, router: Router): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    let service: string;
    try {
      service = readService(call.request, call.metadata);
    } catch (err) {
      return callback(grpcError(err));
    }
    const metadata = applicationMetadata(call.metadata);
    const deadline = call.getDeadline();
    let cancelled = false;
    let upstream: grpc.experimental.CallStream | undefined;
    call.once('cancelled', () => {
      cancelled = true;
      upstream?.cancelWithStatus(grpc.status.CANCELLED, 'cancelled by the client');
    });

    const attempt = (pool: ServicePool, endpoint: Endpoint, retried: boolean) => {
      let response: Buffer | undefined;
      let headers: grpc.Metadata | undefined;
      // NOTE: the channel's own call, below grpc-js's client API (no interceptors, no serializer,
      // no per-call EventEmitter or caller stack capture): the message is already bytes.
      const up = endpoint.client.getChannel().createCall(path, deadline, null, null, null);
      upstream = up;
      up.start(retried ? metadata.clone() : metadata, {
        onReceiveMetadata: (md) => (headers = md),
        onReceiveMessage: (message: Buffer) => (response = message),
        onReceiveStatus: (status) => {
          endpoint.settled();
          if (cancelled) return;
          if (status.code === grpc.status.OK && response !== undefined) {
            const sendHeaders = nonEmptyApplicationMetadata(headers);
            if (sendHeaders !== undefined) call.sendMetadata(sendHeaders);
            return callback(null, response, applicationMetadata(status.metadata));
          }
          // Retry only when no response message came back (nothing of it reached the client
          // either: the balancer answers only once the instance's status is in).
          if (!retried && response === undefined && mayRetry(status)) {
            const next = pool.pick(endpoint);
            if (next !== undefined) return attempt(pool, next, true);
          }
          const code = status.code === grpc.status.OK ? grpc.status.UNIMPLEMENTED : status.code;
          callback({ code, details: status.details || 'no response message', metadata: applicationMetadata(status.metadata) });
        },
      });
      up.sendMessageWithContext({}, call.request);
      up.halfClose();
      up.startRead();
    };

    pickFor(router, service, deadline, (err, pool, endpoint) => {
      if (cancelled) return endpoint?.settled();
      if (err !== null || pool === undefined || endpoint === undefined) return callback(grpcError(err));
      attempt(pool, endpoint, false);
    });
  };
}

/** The Session method: a bidi stream proxied, as bytes, to one instance for its whole life. */
export function sessionForwarder(path: string, router: Router): grpc.handleBidiStreamingCall<Buffer, Buffer> {
  return (call) => {
    let upstream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
    let finished = false;
    const fail = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(openTimer);
      upstream?.cancel();
      // grpc-js sends a server stream's error status when 'error' is emitted on it.
      call.emit('error', grpcError(err));
    };
    const openTimer = setTimeout(
      () => fail(new AigesError(Codes.SESSION_TIMEOUT, `no open message within ${SESSION_OPEN_TIMEOUT_MS} ms`)),
      SESSION_OPEN_TIMEOUT_MS,
    );
    call.once('cancelled', () => {
      finished = true;
      clearTimeout(openTimer);
      upstream?.cancel();
    });
    const endedEarly = () => fail(new AigesError(Codes.INVALID_OP, 'session stream ended before its open message'));
    call.once('end', endedEarly);
    call.once('data', (first: Buffer) => {
      clearTimeout(openTimer);
      call.off('end', endedEarly);
      call.pause();
      let service: string;
      try {
        service = readService(first, call.metadata);
      } catch (err) {
        return fail(err);
      }
      pickFor(router, service, call.getDeadline(), (err, _pool, endpoint) => {
        if (finished) return endpoint?.settled();
        if (err !== null || endpoint === undefined) return fail(err);
        proxy(call, endpoint, path, first, (up) => (upstream = up), () => (finished = true));
      });
    });
  };
}

function proxy(
  call: grpc.ServerDuplexStream<Buffer, Buffer>,
  endpoint: Endpoint,
  path: string,
  first: Buffer,
  started: (up: grpc.ClientDuplexStream<Buffer, Buffer>) => void,
  finished: () => void,
): void {
  const up = endpoint.client.makeBidiStreamRequest(path, identity, identity, applicationMetadata(call.metadata), {
    deadline: call.getDeadline(),
  });
  started(up);
  // client → instance, with backpressure
  up.write(first);
  call.on('data', (message: Buffer) => {
    if (!up.write(message)) {
      call.pause();
      up.once('drain', () => call.resume());
    }
  });
  call.on('end', () => up.end());
  call.resume();
  // instance → client, with backpressure
  up.on('metadata', (md: grpc.Metadata) => {
    const headers = nonEmptyApplicationMetadata(md);
    if (headers !== undefined) call.sendMetadata(headers);
  });
  up.on('data', (message: Buffer) => {
    if (!call.write(message)) {
      up.pause();
      call.once('drain', () => up.resume());
    }
  });
  // NOTE: the status can arrive while results still sit in `up`'s buffer (paused by
  // backpressure); close the client's stream only after both the status and the last result.
  let status: grpc.StatusObject | undefined;
  let drained = false;
  let done = false;
  const finish = () => {
    if (done || status === undefined || !drained) return;
    done = true;
    finished();
    const trailers = applicationMetadata(status.metadata);
    if (status.code === grpc.status.OK) call.end(trailers);
    else call.emit('error', { code: status.code, details: status.details, metadata: trailers });
  };
  up.on('status', (s: grpc.StatusObject) => {
    endpoint.settled();
    status = s;
    if (s.code !== grpc.status.OK && up.readableLength === 0) drained = true;
    finish();
  });
  up.on('end', () => {
    drained = true;
    finish();
  });
  up.on('error', () => undefined); // reported through 'status'
}
