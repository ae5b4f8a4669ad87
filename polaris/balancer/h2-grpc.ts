/**
 * gRPC on raw node:http2, the little of it the balancer needs to forward calls as HTTP/2 streams
 * (balancer-forward.ts): header copying, status answers, deadlines and the first message of a
 * request. Everything else of a call (its messages, compression, metadata) passes as it came.
 */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import { AigesError, Codes, grpcStatusOf, toAigesError } from '../../loader/errors.js';
import { SIGNING_HEADERS } from './edge-auth.js';

const { NGHTTP2_CANCEL } = http2.constants;

/** Header of a length-prefixed gRPC message: 1 byte compressed flag, 4 bytes big-endian length. */
export const PREFIX_BYTES = 5;

/** `message` as one uncompressed length-prefixed gRPC message. */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, PREFIX_BYTES);
  return framed;
}

/**
 * The request headers for the hop to an instance: every header the client sent (metadata,
 * grpc-timeout, grpc-encoding, te, ...) with the pseudo-headers of the new hop (`:scheme` is the
 * connection's own, http or https, which node:http2 sets), less a client's AK/SK signature and
 * claimed caller (edge-auth.ts): the hop signs for itself.
 */
export function upstreamHeaders(headers: IncomingHttpHeaders, authority: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': 'POST', ':path': headers[':path'], ':authority': authority };
  for (const key in headers) if (key[0] !== ':' && !SIGNING_HEADERS.has(key)) out[key] = headers[key];
  return out;
}

/**
 * Response headers or trailers from an instance, for the client: everything but the
 * pseudo-headers (`:status` kept when `status`) and `date`, which each hop sets itself.
 */
export function downstreamHeaders(headers: IncomingHttpHeaders, status: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = status ? { ':status': headers[':status'] ?? 200 } : {};
  for (const key in headers) if (key[0] !== ':' && key !== 'date') out[key] = headers[key];
  return out;
}

/** grpc-message encoding: percent-encode what is not printable ASCII, and '%' itself. */
export function encodeGrpcMessage(message: string): string {
  return message.replace(/[^ -$&-~]/gu, (c) => encodeURIComponent(c));
}

/** A "trailers-only" answer carrying `err` as grpc-status, grpc-message and the aiges-code trailer. */
export function errorHeaders(err: unknown): OutgoingHttpHeaders {
  const error = toAigesError(err);
  return {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(grpcStatusOf(error.aigesCode)),
    'grpc-message': encodeGrpcMessage(error.message),
    'aiges-code': String(error.aigesCode),
  };
}

/** Answers `stream` with `err` and ends it, unless it is already answered or gone. */
export function respondError(stream: ServerHttp2Stream, err: unknown): void {
  if (stream.headersSent || stream.destroyed || stream.closed) return;
  stream.respond(errorHeaders(err), { endStream: true });
}

/** Answers `stream` with one response message and grpc-status 0, unless it is already answered or gone. */
export function respondMessage(stream: ServerHttp2Stream, message: Buffer): void {
  if (stream.headersSent || stream.destroyed || stream.closed) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
  stream.end(frameMessage(message));
}

/** Answers `stream` trailers-only with a loader's failure: its status, message and aiges-code. */
export function respondStatus(stream: ServerHttp2Stream, grpcStatus: number, message: string, aigesCode: number): void {
  if (stream.headersSent || stream.destroyed || stream.closed) return;
  const headers: OutgoingHttpHeaders = {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(grpcStatus),
    'grpc-message': encodeGrpcMessage(message),
  };
  if (aigesCode !== 0) headers['aiges-code'] = String(aigesCode);
  stream.respond(headers, { endStream: true });
}

/** Resets `stream` as cancelled (an instance's or a client's side that is no longer wanted). */
export function cancel(stream: http2.Http2Stream): void {
  if (!stream.closed && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/** The deadline a `grpc-timeout` header sets, as a Date.now() time; Infinity when none is set. */
export function deadlineOf(headers: IncomingHttpHeaders, now = Date.now()): number {
  const value = headers['grpc-timeout'];
  const m = typeof value === 'string' ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (m === null) return Infinity;
  return now + Number(m[1]) * (TIMEOUT_UNIT_MS[m[2] as string] as number);
}

/**
 * The first length-prefixed message of a request body, from its chunks as they arrive.
 * `push` returns the message (decompressed when the client compressed it) once it is whole.
 */
export class FirstMessage {
  readonly chunks: Buffer[] = [];
  #bytes = 0;
  /** Bytes received past the first message (0 until it is whole). */
  trailingBytes = 0;
  /** The first message's length, once its prefix is in. */
  #length: number | undefined;
  #compressed = false;

  constructor(
    private readonly encoding: string | undefined,
    /** Largest message accepted; a longer one throws 10201. */
    private readonly maxBytes: number,
  ) {}

  /** Bytes received so far. */
  get bytes(): number {
    return this.#bytes;
  }

  push(chunk: Buffer): Buffer | undefined {
    this.chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#length === undefined) {
      if (this.#bytes < PREFIX_BYTES) return undefined;
      // The prefix is read once; the body is joined once, when it is whole (joining on every chunk
      // made a large message cost quadratic CPU).
      const prefix = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, PREFIX_BYTES);
      this.#compressed = prefix[0] !== 0;
      this.#length = prefix.readUInt32BE(1);
      if (this.#length > this.maxBytes) {
        throw new AigesError(Codes.PAYLOAD_TOO_LARGE, `message of ${this.#length} bytes is over the balancer's limit of ${this.maxBytes}`);
      }
    }
    if (this.#bytes < PREFIX_BYTES + this.#length) return undefined;
    this.trailingBytes = this.#bytes - PREFIX_BYTES - this.#length;
    const whole = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.#bytes);
    this.chunks.length = 0;
    this.chunks.push(whole);
    const message = whole.subarray(PREFIX_BYTES, PREFIX_BYTES + this.#length);
    return this.#compressed ? this.#decompress(message) : message;
  }

  #decompress(message: Buffer): Buffer {
    // The limit holds for what the message inflates to, not only for what was sent.
    const options = { maxOutputLength: Math.max(1, this.maxBytes) };
    try {
      if (this.encoding === 'gzip') return gunzipSync(message, options);
      if (this.encoding === 'deflate') return inflateSync(message, options);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new AigesError(Codes.PAYLOAD_TOO_LARGE, `compressed message inflates past the balancer's limit of ${this.maxBytes} bytes`);
      }
      throw new AigesError(Codes.INVALID_DATA, `compressed message does not decompress: ${(err as Error).message}`);
    }
    throw new AigesError(Codes.INVALID_DATA, `compressed message with unsupported grpc-encoding "${this.encoding ?? 'identity'}"`);
  }
}
