/**
 * The framing of the channel between the loader and a plugin process (a Unix socket pair, the
 * child's fd 3). A frame is
 *
 *   u32 LE  length of the rest of the frame
 *   u32 LE  length of the header
 *   header  a message (messages.ts) as UTF-8 JSON
 *   payload the bytes of the message's inline items, back to back (items say where each starts)
 *
 * Large item bytes do not travel here but in the shared region (shared-region.ts); the header then
 * names where they lie.
 */

const PREFIX = 8;

/** One frame read: its header (parsed) and its payload, a view that stays valid. */
export interface Frame {
  header: unknown;
  payload: Buffer;
}

/** Encodes one frame; `payloads` are appended in order (their offsets are the caller's to state). */
export function encodeFrame(header: unknown, payloads: readonly Uint8Array[] = []): Buffer {
  const json = JSON.stringify(header);
  const headerBytes = Buffer.byteLength(json);
  let payloadBytes = 0;
  for (const p of payloads) payloadBytes += p.byteLength;
  const frame = Buffer.allocUnsafe(PREFIX + headerBytes + payloadBytes);
  frame.writeUInt32LE(frame.length - 4, 0);
  frame.writeUInt32LE(headerBytes, 4);
  frame.write(json, PREFIX, 'utf8');
  let at = PREFIX + headerBytes;
  for (const p of payloads) {
    frame.set(p, at);
    at += p.byteLength;
  }
  return frame;
}

/**
 * Splits a byte stream into frames. Chunks are kept as they come and joined only for a frame that
 * spans several, so a large inline payload is copied once, not once per chunk.
 */
export class FrameReader {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  /** Length of the frame being read (prefix included), once its prefix is in. */
  #need = 0;

  /** Adds bytes read; returns every frame completed by them, in order. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#need === 0) {
        if (this.#buffered < 4) break;
        this.#need = 4 + this.#peekLength();
      }
      if (this.#buffered < this.#need) break;
      const bytes = this.#take(this.#need);
      this.#need = 0;
      const headerBytes = bytes.readUInt32LE(4);
      const header: unknown = JSON.parse(bytes.toString('utf8', PREFIX, PREFIX + headerBytes));
      frames.push({ header, payload: bytes.subarray(PREFIX + headerBytes) });
    }
    return frames;
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= 4) return first.readUInt32LE(0);
    const head = Buffer.concat(this.#chunks, 4);
    return head.readUInt32LE(0);
  }

  /** Takes the next `n` bytes: a view of the first chunk when it holds them all, else one copy. */
  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    this.#buffered -= n;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[0]!;
      const want = n - at;
      if (chunk.length <= want) {
        out.set(chunk, at);
        at += chunk.length;
        this.#chunks.shift();
      } else {
        out.set(chunk.subarray(0, want), at);
        this.#chunks[0] = chunk.subarray(want);
        at = n;
      }
    }
    return out;
  }
}
