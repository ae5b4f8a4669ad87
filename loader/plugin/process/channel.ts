/**
 * One end of the channel between the loader and a plugin process: frames (frames.ts) over a Unix
 * socket pair. Sending never waits: a frame goes to the kernel at once when the socket takes it
 * (native/host.ts sendNow, without the stream machinery), else into the socket's queue (what is
 * queued is bounded by the calls in flight, which admission bounds). A write to a peer that died
 * is dropped: the peer's exit is handled where the process is watched, not here.
 *
 * `poll` reads the socket for a few microseconds without the event loop (native/host.ts
 * spinRead): a side that expects an answer at once takes it without being put to sleep and woken
 * again, which costs more than the answer on many machines.
 */
import type { Socket } from 'node:net';
import { sendNow, spinRead } from '../../../native/host.js';
import { encodeFrame, type Frame, FrameReader } from './frames.js';

export class Channel {
  readonly #socket: Socket;
  readonly #reader = new FrameReader();
  readonly #onFrame: (frame: Frame) => void;
  /** The socket's fd, for `poll`; undefined where it cannot be had (then `poll` does nothing). */
  readonly #fd: number | undefined;
  #open = true;

  constructor(socket: Socket, onFrame: (frame: Frame) => void, onClose: () => void) {
    this.#socket = socket;
    this.#onFrame = onFrame;
    const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    this.#fd = typeof fd === 'number' && fd >= 0 ? fd : undefined;
    socket.on('data', (chunk: Buffer) => this.#feed(chunk));
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
    const frame = encodeFrame(header, payloads);
    // Straight to the kernel while nothing waits in the socket's queue (the order stays the
    // frames' order); what it does not take, the socket queues.
    const fd = this.#fd;
    if (fd !== undefined && this.#socket.writableLength === 0) {
      let sent: number;
      try {
        sent = sendNow(fd, frame);
      } catch {
        sent = 0; // no native host build
      }
      if (sent === frame.length || sent < 0) return; // all sent, or the peer is gone (see above)
      this.#socket.write(sent === 0 ? frame : frame.subarray(sent));
      return;
    }
    this.#socket.write(frame);
  }

  /**
   * Reads what arrives within `maxUs` µs, frame by frame, until `enough()` says so (checked after
   * each read), or the time is up; frames go to `onFrame` as they would from the event loop.
   * Nothing is polled while a frame this side sent still waits in the socket's queue (the peer has
   * not got it, so no answer can come). False when the platform cannot poll a socket.
   */
  poll(maxUs: number, enough: () => boolean): boolean {
    const fd = this.#fd;
    if (fd === undefined || !this.#open || this.#socket.writableLength > 0) return false;
    const until = performance.now() + maxUs / 1000;
    for (;;) {
      const left = Math.round((until - performance.now()) * 1000);
      if (left <= 0) return true;
      let chunk: Buffer | null;
      try {
        chunk = spinRead(fd, left);
      } catch {
        return false; // no native host build
      }
      if (chunk === null) return true;
      this.#feed(chunk);
      if (enough()) return true;
    }
  }

  #feed(chunk: Buffer): void {
    for (const frame of this.#reader.push(chunk)) this.#onFrame(frame);
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
