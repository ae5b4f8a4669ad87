/**
 * aiges.v1.RelayFrame on the wire, for the balancer's side of Relay (loader.proto): gRPC's
 * length-prefixed messages, encoded and decoded with protobufjs's reader and writer. The loader's
 * side is served by grpc-js with the generated types (loader/server/grpc-relay.ts).
 */
import protobuf from 'protobufjs/minimal.js';
import { frameMessage, PREFIX_BYTES } from './h2-grpc.js';

/** The method path of the Relay stream. */
export const RELAY_PATH = '/aiges.v1.Loader/Relay';

/** A loader's answer to one call. */
export interface RelayReply {
  id: number;
  /** The InferResponse message when the call succeeded (grpcStatus 0). */
  response: Buffer;
  grpcStatus: number;
  grpcMessage: string;
  aigesCode: number;
}

/** A call frame, ready to write to the stream: {id, request, timeout_ms, caller}. */
export function callFrame(id: number, request: Uint8Array, timeoutMs: number, caller?: string): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 0).uint32(id);
  w.uint32((2 << 3) | 2).bytes(request);
  if (timeoutMs > 0) w.uint32((3 << 3) | 0).uint32(timeoutMs);
  if (caller !== undefined && caller !== '') w.uint32((9 << 3) | 2).string(caller);
  return frameMessage(w.finish());
}

/** A cancel frame: {id, cancel: true}. */
export function cancelFrame(id: number): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 0).uint32(id);
  w.uint32((4 << 3) | 0).bool(true);
  return frameMessage(w.finish());
}

/** Decodes a reply frame; throws on bytes that are not a protobuf message. */
export function decodeReply(bytes: Buffer): RelayReply {
  const r = protobuf.Reader.create(bytes);
  const reply: RelayReply = { id: 0, response: EMPTY, grpcStatus: 0, grpcMessage: '', aigesCode: 0 };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case (1 << 3) | 0:
        reply.id = r.uint32();
        break;
      case (5 << 3) | 2: {
        // NOTE: not r.bytes(): it clamps a length running past the end silently.
        const length = r.uint32();
        if (r.pos + length > r.len) throw new RangeError('field 5 runs past the end of the frame');
        reply.response = bytes.subarray(r.pos, r.pos + length);
        r.pos += length;
        break;
      }
      case (6 << 3) | 0:
        reply.grpcStatus = r.uint32();
        break;
      case (7 << 3) | 2:
        reply.grpcMessage = r.string();
        break;
      case (8 << 3) | 0:
        reply.aigesCode = r.uint32();
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return reply;
}

const EMPTY = Buffer.alloc(0);

/** Largest Relay reply taken (the balancer's own default message limit): a longer one breaks the stream. */
export const MAX_REPLY_BYTES = 256 * 1024 * 1024;

/**
 * Splits a stream of bytes into gRPC messages, whatever the chunking. Compressed messages are
 * refused: the balancer asks for none (no grpc-accept-encoding on the Relay stream). A message
 * whose length prefix is over `maxBytes` throws at once, before any of it is buffered.
 */
export class MessageSplitter {
  constructor(private readonly maxBytes = MAX_REPLY_BYTES) {}

  #pending: Buffer[] = [];
  #bytes = 0;
  /** Prefix plus length of the message being received, once its prefix is in. */
  #need: number | undefined;

  /** Feeds `chunk`; calls `onMessage` for every message completed by it. */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    this.#pending.push(chunk);
    this.#bytes += chunk.length;
    for (;;) {
      if (this.#need === undefined) {
        if (this.#bytes < PREFIX_BYTES) return;
        if ((this.#pending[0] as Buffer).length < PREFIX_BYTES) this.#pending = [Buffer.concat(this.#pending, this.#bytes)];
        const head = this.#pending[0] as Buffer;
        if (head[0] !== 0) throw new Error('a compressed Relay frame (none was asked for)');
        const length = head.readUInt32BE(1);
        if (length > this.maxBytes) throw new Error(`a Relay frame of ${length} bytes is over the limit of ${this.maxBytes}`);
        this.#need = PREFIX_BYTES + length;
      }
      // NOTE: the chunks are joined once the whole message is in, not on every chunk.
      if (this.#bytes < this.#need) return;
      const all = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending, this.#bytes);
      const message = all.subarray(PREFIX_BYTES, this.#need);
      const rest = all.subarray(this.#need);
      this.#pending = rest.length > 0 ? [rest] : [];
      this.#bytes = rest.length;
      this.#need = undefined;
      onMessage(message);
    }
  }
}
