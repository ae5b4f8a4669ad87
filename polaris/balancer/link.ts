/**
 * The balancer's HTTP/2 connections to one instance, for forwarding calls as raw streams
 * (balancer-forward.ts): one for the Relay stream, sessions and small calls, one for large once
 * calls ("bulk"), so that a large upload never holds the small calls' frames behind its own on one
 * TCP stream. Each is connected on first use, and again on the first use after it closed,
 * failed or got a GOAWAY: a dead instance costs a failed connection attempt per call at most,
 * and the load stream (balancer-endpoint.ts) ejects it within moments anyway.
 */
import type http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import { EMPTY_CONTENT_SHA256 } from '../../plugins/aksk.js';
import { RelayStream } from './mux.js';
import { RELAY_PATH } from './relay-frame.js';
import { connectH2, PLAINTEXT, type Upstream } from './upstream.js';

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

type Connection = 'main' | 'bulk';

export class H2Link {
  /**
   * `main` carries the Relay stream, sessions and small calls; `bulk` large once calls: their DATA
   * frames fill a connection's TCP stream for as long as they take, and small calls queued behind
   * them on the same connection would wait that long.
   */
  readonly #sessions: Record<Connection, ClientHttp2Session | undefined> = { main: undefined, bulk: undefined };
  #closed = false;
  #relay: RelayStream | undefined;
  /** The instance answered Relay with UNIMPLEMENTED: forward every call as a stream of its own. */
  #relayUnsupported = false;
  /** Calls sent on the Relay stream, and streams opened for calls of their own. */
  relayedCalls = 0;
  streamedCalls = 0;

  constructor(
    readonly address: string,
    /** Whether once calls may go on a Relay stream (balancer option `relay`). */
    private readonly useRelay = true,
    /** Plaintext or TLS (upstream.ts). */
    private readonly upstream: Upstream = PLAINTEXT,
  ) {}

  /**
   * The Relay stream to the instance, opened on first use and again after it ended; undefined
   * when calls must go as streams of their own (relay off, the instance has no Relay, or the link
   * is closed).
   */
  relay(): RelayStream | undefined {
    if (!this.useRelay || this.#relayUnsupported || this.#closed) return undefined;
    const current = this.#relay;
    if (current?.usable) return current;
    let up: ClientHttp2Stream;
    try {
      const headers: OutgoingHttpHeaders = { ':method': 'POST', ':path': RELAY_PATH, 'content-type': 'application/grpc', te: 'trailers' };
      // The stream is signed once; each frame names the caller checked at the edge.
      this.sign(headers, EMPTY_CONTENT_SHA256, undefined);
      up = this.#connected().request(headers, { endStream: false });
    } catch {
      return undefined;
    }
    const relay = new RelayStream(up, (ended, unsupported) => {
      if (unsupported) this.#relayUnsupported = true;
      if (this.#relay === ended) this.#relay = undefined;
    });
    this.#relay = relay;
    return relay;
  }

  /** Whether streams to the instance are signed (the balancer has a key). */
  get signs(): boolean {
    return this.upstream.signer !== undefined;
  }

  /** Signs a stream's request headers with the balancer's key, when it has one (edge-auth.ts). */
  sign(headers: OutgoingHttpHeaders, sha256: string, caller: string | undefined): void {
    this.upstream.signer?.sign(headers, this.address, sha256, caller);
  }

  /**
   * A new stream to the instance, on the bulk connection when `bulk` (a large once call); throws
   * when the link is closed or the session refuses one.
   */
  request(headers: OutgoingHttpHeaders, bulk = false): ClientHttp2Stream {
    if (this.#closed) throw new Error(`link to ${this.address} is closed`);
    const stream = this.#connected(bulk ? 'bulk' : 'main').request(headers, { endStream: false });
    this.streamedCalls++;
    return stream;
  }

  /** No new streams; those in flight finish. */
  close(): void {
    this.#closed = true;
    this.#relay?.end(); // the instance answers the calls open on it, then the stream ends
    for (const kind of ['main', 'bulk'] as const) {
      this.#sessions[kind]?.close();
      this.#sessions[kind] = undefined;
    }
  }

  /** The connection of `kind`, connected again when it closed, failed or got a GOAWAY. */
  #connected(kind: Connection = 'main'): ClientHttp2Session {
    const current = this.#sessions[kind];
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = this.#connect(
      () => this.#sessions[kind],
      () => (this.#sessions[kind] = undefined),
    );
    this.#sessions[kind] = session;
    return session;
  }

  /** A new connection; `forget` runs when it fails, gets a GOAWAY or closes while still `held`. */
  #connect(held: () => ClientHttp2Session | undefined, forget: () => void): ClientHttp2Session {
    const session = connectH2(this.address, this.upstream, { settings: H2_SETTINGS, maxSessionMemory: H2_MAX_SESSION_MEMORY });
    const drop = () => {
      if (held() === session) forget();
    };
    // Failures reach each stream on the session as its own error or reset.
    session.on('error', drop);
    session.on('goaway', drop);
    session.on('close', drop);
    session.once('connect', () => session.setLocalWindowSize(H2_SESSION_WINDOW));
    return session;
  }
}
