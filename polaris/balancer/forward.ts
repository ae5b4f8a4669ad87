/**
 * The balancer's forwarding of aiges.v1.Loader and V2 inference.GRPCInferenceService calls
 * (route.ts ROUTES), as raw HTTP/2 streams: a call's request bytes go to the picked instance's
 * connection (balancer-link.ts) as they came, and its response (headers, messages, trailers with
 * `aiges-code`) back the same way. Only the first message's field that names the service (aiges.v1
 * `service`, V2 `model_name` or `name`) is read, to route. NOTE: a grpc-js server and client in between would decode
 * and re-frame every message and run their per-call machinery twice; measured, that hop cost
 * about as much CPU per call as the loader itself (BENCHMARKS.md, balancer section).
 *
 * Once calls (Infer, Metadata; V2 ModelInfer, ModelMetadata, ModelReady, ModelConfig) are retried ONCE, on another instance, when the first answers
 * RESOURCE_EXHAUSTED with aiges-code 10110 (capacity full; not 10201, a payload too large
 * anywhere), UNAVAILABLE (draining), or its connection fails, and no response message came back;
 * the client sees nothing of the first attempt. NOTE: a call that fails because its instance died
 * after the request was sent may have run there; retrying it assumes once calls are idempotent,
 * which holds in this system (a once call is one self-contained inference with no side effects
 * the loader knows of).
 *
 * A session (aiges.v1 Session, V2 ModelStreamInfer) is one bidi stream relayed to one instance
 * for its whole life, never retried: its frames go to the instance as they arrive. Only aiges.v1
 * Infer calls ride the Relay stream (its frames carry InferRequests); V2 calls go as streams of
 * their own.
 *
 * AK/SK (`Router.edge`, edge-auth.ts): a call's signature is checked when its headers arrive, its
 * message's hash once the message is whole, its key's services once the service is read, all
 * before an instance is picked; the call then goes on signed by the balancer's key, naming the
 * caller.
 */
import type { ClientHttp2Stream, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { SignedCaller } from '../../loader/auth/aksk.js';
import { AigesError, Codes } from '../../loader/errors.js';
import { contentSha256, EMPTY_CONTENT_SHA256 } from '../../plugins/aksk.js';
import type { EdgeAuth } from './edge-auth.js';
import type { Endpoint } from './endpoint.js';
import type { ServicePool } from './pool.js';
import type { RelayStream } from './mux.js';
import { relay, relayResponse } from './relay.js';
import { ROUTES, stringField } from './route.js';
import {
  cancel,
  deadlineOf,
  downstreamHeaders,
  FirstMessage,
  respondError,
  respondMessage,
  respondStatus,
  upstreamHeaders,
} from './h2-grpc.js';

/** Request metadata that names the polaris service to route to, over the message's `service`. */
export const SERVICE_METADATA = 'aiges-service';
/**
 * The once method that may travel on an instance's Relay stream, whose frames carry InferRequests:
 * every other (Metadata, the V2 methods) goes as a stream of its own.
 */
const INFER_PATH = '/aiges.v1.Loader/Infer';
/**
 * Requests up to this size go on the Relay stream; larger ones get a stream of their own, so that
 * a big message never holds up the small calls sharing the Relay stream.
 */
export const RELAY_MAX_BYTES = 64 * 1024;
/** How long a call may wait for a first instance of a service that is still connecting. */
export const STARTUP_WAIT_MS = 2_000;

export interface Router {
  /** The pool serving `service`; throws (10200) when the balancer does not front it. */
  pool(service: string): ServicePool | Promise<ServicePool>;
  /** Largest request message a call may carry through the balancer. */
  readonly maxMessageBytes: number;
  /** How long a session stream may take to send its open message (the balancer routes by it). */
  readonly sessionOpenTimeoutMs: number;
  /** Checks every call's AK/SK signature; absent: calls pass unchecked. */
  readonly edge?: EdgeAuth | undefined;
}

type Picked = (err: unknown, pool?: ServicePool, endpoint?: Endpoint) => void;

function noInstance(service: string): AigesError {
  return new AigesError(Codes.INSTANCE_INACTIVE, `no live instance of service "${service}"`);
}

function brokenConnection(endpoint: Endpoint): AigesError {
  return new AigesError(Codes.INSTANCE_INACTIVE, `instance ${endpoint.record.address} did not answer (connection failed or reset)`);
}

/** Routes `service` and picks an instance; synchronous when the pool is open and has one live. */
function pickFor(router: Router, service: string, deadline: number, done: Picked): void {
  const withPool = (pool: ServicePool) => {
    const endpoint = pool.pick();
    if (endpoint !== undefined) return done(null, pool, endpoint);
    if (pool.connecting === 0) return done(noInstance(service));
    // NOTE: instances just discovered (e.g. right after the balancer starts) are still opening
    // their load stream; wait a moment for one rather than fail the call.
    const wait = Math.min(STARTUP_WAIT_MS, deadline - Date.now());
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
 * the plugin's id: the request's own `service` may then stay empty), else the message's field
 * naming the service (route.ts).
 */
function readService(message: Buffer, headers: IncomingHttpHeaders): string {
  const named = headers[SERVICE_METADATA];
  if (typeof named === 'string' && named !== '') return named;
  try {
    return stringField(message, ROUTES.get(headers[':path'] ?? '')?.field ?? 1);
  } catch (err) {
    throw new AigesError(Codes.INVALID_DATA, `malformed protobuf message: ${(err as Error).message}`);
  }
}

/**
 * The caller of a call whose headers just arrived: checked at the edge, or undefined when the
 * balancer checks none. A refusal answers the call (its body is dropped) and returns null.
 */
function checkCaller(down: ServerHttp2Stream, headers: IncomingHttpHeaders, router: Router): SignedCaller | undefined | null {
  if (router.edge === undefined) return undefined;
  try {
    return router.edge.check(headers);
  } catch (err) {
    respondError(down, err);
    down.resume();
    return null;
  }
}

/**
 * A new stream to `endpoint` (on its bulk connection when `bulk`), signed by the balancer when it
 * has a key (`sha256`: the hash of the call's message), or undefined when its connection refuses
 * one at once.
 */
function open(
  endpoint: Endpoint,
  headers: IncomingHttpHeaders,
  sha256: () => string,
  caller: string | undefined,
  bulk = false,
): ClientHttp2Stream | undefined {
  try {
    const out = upstreamHeaders(headers, endpoint.record.address);
    if (endpoint.link.signs) endpoint.link.sign(out, sha256(), caller);
    const up = endpoint.link.request(out, bulk);
    up.on('error', () => undefined); // its end shows in 'close'
    return up;
  } catch {
    return undefined;
  }
}

/** Whether a once call that got no response message may go to another instance. */
function mayRetry(headers: IncomingHttpHeaders | undefined): boolean {
  const status = headers?.['grpc-status'];
  if (status === undefined) return true; // no status at all: the connection failed or was reset
  if (status === String(GrpcStatus.UNAVAILABLE)) return true;
  return status === String(GrpcStatus.RESOURCE_EXHAUSTED) && headers?.['aiges-code'] === String(Codes.CAPACITY);
}

/** A unary method (route.ts ROUTES, mode 'unary') forwarded as bytes, with the one retry. */
export function forwardUnary(down: ServerHttp2Stream, headers: IncomingHttpHeaders, router: Router): void {
  const caller = checkCaller(down, headers, router);
  if (caller === null) return;
  const body = new FirstMessage(headers['grpc-encoding'] as string | undefined, router.maxMessageBytes);
  let message: Buffer | undefined;
  let cancelled = false;
  let upstream: ClientHttp2Stream | undefined;
  let relayed: { mux: RelayStream; id: number; endpoint: Endpoint } | undefined;
  down.once('close', () => {
    cancelled = true;
    if (upstream !== undefined) cancel(upstream);
    if (relayed !== undefined) {
      relayed.mux.cancel(relayed.id);
      relayed.endpoint.settled();
      relayed = undefined;
    }
  });
  down.on('data', (chunk: Buffer) => {
    if (down.headersSent) return;
    try {
      if (message !== undefined) throw new AigesError(Codes.INVALID_DATA, 'a unary call carries one message');
      message = body.push(chunk);
      if (body.trailingBytes > 0) throw new AigesError(Codes.INVALID_DATA, 'a unary call carries one message');
    } catch (err) {
      // The client stops sending once it has the status; what it sent until then is dropped.
      respondError(down, err);
    }
  });
  down.once('end', () => {
    if (down.headersSent || cancelled) return;
    if (message === undefined) return respondError(down, new AigesError(Codes.INVALID_DATA, 'the request carries no message'));
    const callMessage = message;
    let sha256: string | undefined;
    const hashed = () => (sha256 ??= contentSha256(callMessage));
    let service: string;
    try {
      caller?.checkBody(hashed());
      service = readService(message, headers);
      caller?.authorize(service);
    } catch (err) {
      return respondError(down, err);
    }
    const request = body.chunks.length === 1 ? (body.chunks[0] as Buffer) : Buffer.concat(body.chunks);
    const relayable = headers[':path'] === INFER_PATH && callMessage.length <= RELAY_MAX_BYTES;

    const attempt = (pool: ServicePool, endpoint: Endpoint, retried: boolean): void => {
      const mux = relayable ? endpoint.link.relay() : undefined;
      if (mux !== undefined) return viaRelay(mux, pool, endpoint, retried);
      // A large call goes on the instance's bulk connection: small calls never queue behind it.
      const up = open(endpoint, headers, hashed, caller?.accessKey, callMessage.length > RELAY_MAX_BYTES);
      if (up === undefined) {
        endpoint.settled();
        return answer(pool, endpoint, retried, undefined, undefined);
      }
      upstream = up;
      up.end(request);
      relayResponse(down, up, {
        address: endpoint.record.address,
        // Nothing reaches the client before the first response byte: until then, a refusal may
        // still be retried elsewhere.
        holdHeaders: true,
        unanswered: (response, trailers) => answer(pool, endpoint, retried, response, trailers),
        done: () => endpoint.settled(),
      });
    };

    /** The attempt as a frame on the instance's Relay stream (balancer-mux.ts). */
    const viaRelay = (mux: RelayStream, pool: ServicePool, endpoint: Endpoint, retried: boolean): void => {
      const deadline = deadlineOf(headers);
      const timeoutMs = Number.isFinite(deadline) ? Math.max(1, Math.ceil(deadline - Date.now())) : 0;
      endpoint.link.relayedCalls++;
      const id = mux.call(
        callMessage,
        timeoutMs,
        {
          answered: (reply) => {
            relayed = undefined;
            endpoint.settled();
            if (cancelled) return;
            if (reply.grpcStatus === GrpcStatus.OK) return respondMessage(down, reply.response);
            const status = { 'grpc-status': String(reply.grpcStatus), 'aiges-code': String(reply.aigesCode) };
            if (!retried && mayRetry(status)) {
              const next = pool.pick(endpoint);
              if (next !== undefined) return attempt(pool, next, true);
            }
            respondStatus(down, reply.grpcStatus, reply.grpcMessage, reply.aigesCode);
          },
          lost: (unsupported) => {
            relayed = undefined;
            // No Relay there: nothing ran; the same instance (still picked) as a stream of the call's own.
            if (unsupported && !cancelled) return attempt(pool, endpoint, retried);
            endpoint.settled();
            if (cancelled) return;
            answer(pool, endpoint, retried, undefined, undefined);
          },
        },
        caller?.accessKey,
      );
      relayed = { mux, id, endpoint };
    };

    /** The attempt on `endpoint` ended with no response message: retry once, or pass its status on. */
    const answer = (
      pool: ServicePool,
      endpoint: Endpoint,
      retried: boolean,
      response?: IncomingHttpHeaders,
      trailers?: IncomingHttpHeaders,
    ) => {
      if (cancelled) return;
      const status = response?.['grpc-status'] !== undefined ? response : trailers;
      if (!retried && mayRetry(status)) {
        const next = pool.pick(endpoint);
        if (next !== undefined) return attempt(pool, next, true);
      }
      if (status === undefined) return respondError(down, brokenConnection(endpoint));
      if (down.closed || down.destroyed || down.headersSent) return;
      // Headers then trailers, or trailers-only: the client gets them as one trailers-only answer.
      down.respond({ ...downstreamHeaders(response ?? {}, true), ...downstreamHeaders(trailers ?? {}, false) }, { endStream: true });
    };

    pickFor(router, service, deadlineOf(headers), (err, pool, endpoint) => {
      if (cancelled) return endpoint?.settled();
      if (err !== null || pool === undefined || endpoint === undefined) return respondError(down, err);
      attempt(pool, endpoint, false);
    });
  });
}

/**
 * A stream method (route.ts ROUTES, mode 'stream': Session, ModelStreamInfer): a bidi stream
 * routed by its first message and relayed, as bytes, to one instance for its whole life.
 */
export function forwardSession(down: ServerHttp2Stream, headers: IncomingHttpHeaders, router: Router): void {
  const caller = checkCaller(down, headers, router);
  if (caller === null) return;
  try {
    caller?.checkBody(EMPTY_CONTENT_SHA256);
  } catch (err) {
    respondError(down, err);
    down.resume();
    return;
  }
  const first = new FirstMessage(headers['grpc-encoding'] as string | undefined, router.maxMessageBytes);
  let finished = false;
  const fail = (err: unknown) => {
    if (finished) return;
    finished = true;
    clearTimeout(openTimer);
    down.off('data', onData);
    respondError(down, err);
    down.resume(); // drop what the client still sends until it has the status
  };
  const openTimer = setTimeout(
    () => fail(new AigesError(Codes.SESSION_TIMEOUT, `no first (open) message within ${router.sessionOpenTimeoutMs} ms`)),
    router.sessionOpenTimeoutMs,
  );
  const endedEarly = () => fail(new AigesError(Codes.INVALID_OP, 'the stream ended before its first (open) message'));
  down.once('end', endedEarly);
  down.once('close', () => {
    finished = true;
    clearTimeout(openTimer);
  });
  const onData = (chunk: Buffer) => {
    let message: Buffer | undefined;
    let service: string;
    try {
      message = first.push(chunk);
      if (message === undefined) return;
      service = readService(message, headers);
      caller?.authorize(service);
    } catch (err) {
      return fail(err);
    }
    clearTimeout(openTimer);
    down.off('data', onData);
    down.off('end', endedEarly);
    down.pause();
    pickFor(router, service, deadlineOf(headers), (err, _pool, endpoint) => {
      if (finished) return endpoint?.settled();
      if (err !== null || endpoint === undefined) return fail(err);
      const up = open(endpoint, headers, () => EMPTY_CONTENT_SHA256, caller?.accessKey);
      if (up === undefined) {
        endpoint.settled();
        return fail(brokenConnection(endpoint));
      }
      relay(down, up, first.chunks, endpoint.record.address, () => endpoint.settled());
    });
  };
  down.on('data', onData);
}

/**
 * A unary call the balancer answers itself (its V2 server methods, v2-server.ts), checked at the
 * edge as a loader checks them: the signature when its headers arrive, its message's hash at its
 * end; then `answer` with the request bytes read. A refusal answers `down`. Without AK/SK at the
 * edge, `answer` runs at once with nothing read.
 */
export function checkOwnCall(
  down: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  router: Router,
  answer: (initial: readonly Buffer[]) => void,
): void {
  const caller = checkCaller(down, headers, router);
  if (caller === null) return;
  if (caller === undefined) return answer([]);
  const body = new FirstMessage(headers['grpc-encoding'] as string | undefined, router.maxMessageBytes);
  let message: Buffer | undefined;
  let refused = false;
  down.on('data', (chunk: Buffer) => {
    if (refused) return;
    try {
      message = body.push(chunk) ?? message;
    } catch (err) {
      refused = true;
      respondError(down, err);
    }
  });
  down.once('end', () => {
    if (refused) return;
    try {
      caller.checkBody(message === undefined ? EMPTY_CONTENT_SHA256 : contentSha256(message));
    } catch (err) {
      return respondError(down, err);
    }
    answer(body.chunks);
  });
}
