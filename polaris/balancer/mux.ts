/**
 * One Relay stream from the balancer to an instance (loader.proto RelayFrame): the once calls the
 * balancer forwards to that instance travel on it as frames, each with an id, instead of each on
 * an HTTP/2 stream of its own.
 *
 * NOTE: an HTTP/2 stream per forwarded call cost the balancer more CPU than anything else it does
 * (node:http2's ClientHttp2Stream: a Duplex, header maps, an AsyncResource per request), and the
 * loader a grpc-js call per call. On one long-lived stream a call is a frame each way:
 * BENCHMARKS.md (balancer section) has the before and after.
 *
 * A call on the stream ends in exactly one of: `answered` (the loader's reply frame), or `lost`
 * (the stream ended or broke first: the call may or may not have run). A stream that a loader
 * answers with UNIMPLEMENTED (a loader without Relay) is `unsupported`: its calls are lost with
 * that flag, nothing ran, and the caller forwards them as streams of their own.
 */
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { cancelFrame, callFrame, decodeReply, MessageSplitter, type RelayReply } from './relay-frame.js';

export interface RelayCall {
  answered(reply: RelayReply): void;
  /** The stream ended before the reply; `unsupported`: the instance does not serve Relay. */
  lost(unsupported: boolean): void;
}

export class RelayStream {
  readonly #up: ClientHttp2Stream;
  readonly #calls = new Map<number, RelayCall>();
  readonly #splitter = new MessageSplitter();
  #nextId = 0;
  #ending = false;
  #over = false;
  #unsupported = false;

  /** `up`: a new stream to the instance's Relay method; `onOver` runs once when it is over. */
  constructor(
    up: ClientHttp2Stream,
    private readonly onOver: (stream: RelayStream, unsupported: boolean) => void,
  ) {
    this.#up = up;
    // The instance refusing the method (UNIMPLEMENTED: a loader without Relay), in its response
    // headers (trailers-only) or in trailers: nothing ran; the stream is over.
    const refused = (headers: IncomingHttpHeaders) => {
      if (headers['grpc-status'] !== String(GrpcStatus.UNIMPLEMENTED)) return;
      this.#unsupported = true;
      up.close();
    };
    up.on('response', refused);
    up.on('trailers', refused);
    up.on('data', (chunk: Buffer) => {
      try {
        this.#splitter.push(chunk, (message) => this.#onReply(decodeReply(message)));
      } catch {
        up.destroy(); // a stream we cannot read any more: every call on it is lost
      }
    });
    up.on('error', () => undefined); // its end shows in 'close'
    up.once('close', () => this.#close());
  }

  /** Whether new calls may go on this stream. */
  get usable(): boolean {
    return !this.#ending && !this.#over && !this.#up.closed && !this.#up.destroyed;
  }

  /** Calls now open on the stream. */
  get open(): number {
    return this.#calls.size;
  }

  /**
   * Sends a call: `request` is the InferRequest message (uncompressed), `timeoutMs` its deadline
   * from now (0: none), `caller` the access key the balancer checked at its edge. Returns its id,
   * for `cancel`.
   */
  call(request: Uint8Array, timeoutMs: number, handler: RelayCall, caller?: string): number {
    this.#nextId = (this.#nextId + 1) >>> 0 || 1;
    const id = this.#nextId;
    this.#calls.set(id, handler);
    this.#up.write(callFrame(id, request, timeoutMs, caller));
    return id;
  }

  /** The client of call `id` went away: the loader cancels it; no answer reaches the handler. */
  cancel(id: number): void {
    if (!this.#calls.delete(id) || !this.usable) return;
    this.#up.write(cancelFrame(id));
  }

  /** No new calls: the loader answers the open ones, then the stream ends. */
  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    if (!this.#up.closed && !this.#up.destroyed) this.#up.end();
  }

  #onReply(reply: RelayReply): void {
    const handler = this.#calls.get(reply.id);
    if (handler === undefined) return; // cancelled meanwhile
    this.#calls.delete(reply.id);
    handler.answered(reply);
  }

  #close(): void {
    if (this.#over) return;
    this.#over = true;
    const lost = [...this.#calls.values()];
    this.#calls.clear();
    this.onOver(this, this.#unsupported);
    for (const handler of lost) handler.lost(this.#unsupported);
  }
}
