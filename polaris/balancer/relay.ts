/**
 * One gRPC call relayed between a client's HTTP/2 stream and an instance's, frame data as it
 * comes, both ways, with backpressure: the balancer never decodes or re-frames a message here.
 * Response headers, messages and trailers (`aiges-code` among them) reach the client as the
 * instance sent them. Used for sessions (after their open message picked the instance) and for
 * the balancer's own services (health), served behind it.
 */
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { AigesError, Codes } from '../../loader/errors.js';
import { cancel, downstreamHeaders, errorHeaders, respondError } from './h2-grpc.js';

/** The trailers of a call whose instance stream broke after its response began. */
function lostTrailers(address: string): OutgoingHttpHeaders {
  const {
    ':status': _status,
    'content-type': _type,
    ...trailers
  } = errorHeaders(new AigesError(Codes.INSTANCE_INACTIVE, `the connection to instance ${address} broke mid-call`));
  return trailers;
}

export interface ResponseHandling {
  address: string;
  /**
   * Hold the instance's response headers until its first message byte: a call that ends before
   * one (a refusal) then reaches `unanswered` with nothing sent to the client yet.
   */
  holdHeaders: boolean;
  /** `up` ended and the client got nothing: answer it (or retry elsewhere). */
  unanswered(response: IncomingHttpHeaders | undefined, trailers: IncomingHttpHeaders | undefined): void;
  /** `up` is over (called once, first). */
  done(): void;
}

/** Answers `down` with the response of `up`, from its headers on, as it comes. */
export function relayResponse(down: ServerHttp2Stream, up: ClientHttp2Stream, handling: ResponseHandling): void {
  let response: IncomingHttpHeaders | undefined;
  let trailers: IncomingHttpHeaders | undefined;
  let committed = false;
  const commit = (headers: IncomingHttpHeaders) => {
    committed = true;
    if (headers['grpc-status'] !== undefined) {
      // Trailers-only: the whole answer is in these headers.
      down.respond(downstreamHeaders(headers, true), { endStream: true });
      return;
    }
    down.respond(downstreamHeaders(headers, true), { waitForTrailers: true });
    down.once('wantTrailers', () =>
      down.sendTrailers(trailers === undefined ? lostTrailers(handling.address) : downstreamHeaders(trailers, false)),
    );
  };
  up.on('response', (headers: IncomingHttpHeaders) => {
    response = headers;
    if (!handling.holdHeaders && !down.closed && !down.destroyed) commit(headers);
  });
  up.on('trailers', (headers: IncomingHttpHeaders) => (trailers = headers));
  up.on('data', (chunk: Buffer) => {
    if (down.closed || down.destroyed) return;
    if (!committed) commit(response ?? {});
    if (!down.write(chunk)) {
      up.pause();
      down.once('drain', () => up.resume());
    }
  });
  up.on('error', () => undefined); // its end shows in 'close'
  up.once('close', () => {
    handling.done();
    if (down.closed || down.destroyed) return;
    if (!committed) return handling.unanswered(response, trailers);
    if (!down.writableEnded) down.end();
  });
}

/**
 * Relays a whole call: `initial` (request bytes already read from `down`) then the rest of the
 * request to `up`, and the response back. The client going away cancels the instance's stream.
 */
export function relay(down: ServerHttp2Stream, up: ClientHttp2Stream, initial: readonly Buffer[], address: string, done: () => void): void {
  for (const chunk of initial) up.write(chunk);
  down.on('data', (chunk: Buffer) => {
    if (up.closed || up.destroyed) return;
    if (!up.write(chunk)) {
      down.pause();
      up.once('drain', () => down.resume());
    }
  });
  down.on('end', () => {
    if (!up.closed && !up.destroyed) up.end();
  });
  if (down.readableEnded) up.end();
  down.once('close', () => cancel(up));
  relayResponse(down, up, {
    address,
    holdHeaders: false,
    unanswered: () => respondError(down, new AigesError(Codes.INSTANCE_INACTIVE, `instance ${address} closed the call without an answer`)),
    done,
  });
  down.resume();
}
