/**
 * aiges.v1.Loader/Session over gRPC: a bidi stream is one session stream of the data plane
 * (dataplane/session-stream.ts). Client messages are pushed in order (the stream pauses while the
 * plugin takes one), the client's half-close ends the input, results are written back with
 * transport backpressure, and the session's end ends the call (OK, or the error's status with
 * the `aiges-code` trailer).
 */
import type * as grpc from '@grpc/grpc-js';
import { type AigesError, toAigesError } from '../errors.js';
import type { CallOptions, Dataplane } from '../dataplane/dataplane.js';
import type { SessionSink } from '../dataplane/results.js';
import type { SessionStream } from '../dataplane/session-stream.js';
import type { SessionRequest__Output } from '../../proto/gen/aiges/v1/SessionRequest.js';
import type { SessionResponse } from '../../proto/gen/aiges/v1/SessionResponse.js';
import type { DataItem, SessionResult } from '../../plugins/types.js';
import { grpcError } from './grpc-errors.js';
import { itemFromWire, itemToWire } from './grpc-convert.js';

export type SessionCall = grpc.ServerDuplexStream<SessionRequest__Output, SessionResponse>;

/** The gRPC stream as the session's sink. */
class GrpcSessionSink implements SessionSink {
  stream: SessionStream | undefined;
  #gone = false;

  constructor(private readonly call: SessionCall) {}

  result(result: SessionResult): boolean {
    const session = this.stream?.session;
    return this.call.write({ items: result.items.map(itemToWire), status: result.status, sid: session?.sid ?? '' });
  }

  close(error: AigesError | undefined): void {
    if (this.#gone) return;
    if (error === undefined) this.call.end();
    // grpc-js sends a stream's error status when 'error' is emitted on it (destroy would not).
    else this.call.emit('error', grpcError(error));
  }

  /** The client went away: nothing more is sent. */
  gone(): void {
    this.#gone = true;
  }
}

/**
 * Serves one Session call. `malformed(message)` returns the error for a message grpc-js could not
 * decode (the server's tolerant decoder marks them), else undefined.
 */
export function serveSession(
  call: SessionCall,
  dataplane: Dataplane,
  options: Pick<CallOptions, 'deadline' | 'caller'>,
  malformed: (message: unknown) => AigesError | undefined,
): void {
  const sink = new GrpcSessionSink(call);
  const stream = dataplane.sessionStream(sink, options);
  sink.stream = stream;
  const resume = () => call.resume();
  call.on('data', (message: SessionRequest__Output) => {
    const bad = malformed(message);
    if (bad !== undefined) return stream.fail(bad);
    let items: DataItem[];
    try {
      items = message.items.map(itemFromWire);
    } catch (err) {
      return stream.fail(toAigesError(err));
    }
    const pending = stream.push({ service: message.service, params: message.params, headers: message.headers, items });
    if (pending !== undefined) {
      call.pause();
      pending.then(resume, resume);
    }
  });
  call.on('end', () => stream.end());
  call.on('drain', () => stream.session?.resume());
  call.on('cancelled', () => {
    sink.gone();
    stream.cancel();
  });
  // A broken transport: the 'cancelled' event follows; nothing to send.
  call.on('error', () => undefined);
}
