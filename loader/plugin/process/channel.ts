/**
 * One end of the channel between the loader and a plugin process: frames (frames.ts) over a Unix
 * socket pair. Sending never waits: a frame goes to the kernel at once when the socket takes it,
 * else into the socket's queue (what is queued is bounded by the calls in flight, which admission
 * bounds). A write to a peer that died is dropped: the peer's exit is handled where the process is
 * watched, not here.
 */
import type { Socket } from 'node:net';
import { encodeFrame, type Frame, FrameReader } from './frames.js';

export class Channel {
  readonly #socket: Socket;
  readonly #reader = new FrameReader();
  #open = true;

  constructor(socket: Socket, onFrame: (frame: Frame) => void, onClose: () => void) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#reader.push(chunk)) onFrame(frame);
    });
    // EPIPE / ECONNRESET when the peer dies: its exit is what counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#open = false;
      onClose();
    });
  }

  get open(): boolean {
    return this.#open;
  }

  send(header: unknown, payloads?: readonly Uint8Array[]): void {
    if (!this.#open) return;
    this.#socket.write(encodeFrame(header, payloads));
  }

  /** Ends the sending side; the peer sees the end of its input. */
  end(): void {
    if (this.#open) this.#socket.end();
  }

  /** Closes at once, dropping what is queued. */
  destroy(): void {
    this.#open = false;
    this.#socket.destroy();
  }
}
