/**
 * The balancer's HTTP/2 connection to one instance, for forwarding calls as raw streams
 * (balancer-forward.ts). Connected on first use, and again on the first use after it closed,
 * failed or got a GOAWAY: a dead instance costs a failed connection attempt per call at most,
 * and the load stream (balancer-endpoint.ts) ejects it within moments anyway.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';

/** HTTP/2 settings of both hops: windows that keep a 4 MiB message from stalling on acks. */
export const H2_SETTINGS: http2.Settings = { initialWindowSize: 4 * 1024 * 1024 };
/** Connection-level receive window (the per-stream one is in H2_SETTINGS). */
export const H2_SESSION_WINDOW = 16 * 1024 * 1024;
/**
 * NOTE: node:http2 refuses new streams once a session buffers more than maxSessionMemory MB;
 * a balancer relays many large messages on one connection, so the bound is the OS's, as in
 * grpc-js's own server.
 */
export const H2_MAX_SESSION_MEMORY = Number.MAX_SAFE_INTEGER;

export class H2Link {
  #session: ClientHttp2Session | undefined;
  #closed = false;

  constructor(readonly address: string) {}

  /** A new stream to the instance; throws when the link is closed or the session refuses one. */
  request(headers: OutgoingHttpHeaders): ClientHttp2Stream {
    if (this.#closed) throw new Error(`link to ${this.address} is closed`);
    return this.#connected().request(headers, { endStream: false });
  }

  /** No new streams; those in flight finish. */
  close(): void {
    this.#closed = true;
    this.#session?.close();
    this.#session = undefined;
  }

  #connected(): ClientHttp2Session {
    const current = this.#session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = http2.connect(`http://${this.address}`, { settings: H2_SETTINGS, maxSessionMemory: H2_MAX_SESSION_MEMORY });
    const forget = () => {
      if (this.#session === session) this.#session = undefined;
    };
    // Failures reach each stream on the session as its own error or reset.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    session.once('connect', () => session.setLocalWindowSize(H2_SESSION_WINDOW));
    this.#session = session;
    return session;
  }
}
