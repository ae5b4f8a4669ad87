import type { OutputItem } from './types.js';

/**
 * A bounded queue a session uses for its `results`: `write` pushes, the loader iterates.
 * `push` resolves once the loader has taken enough that the queue is below `highWaterMark`,
 * so a plugin that awaits it never buffers without bound.
 */
export class ResultQueue implements AsyncIterable<readonly OutputItem[]> {
  readonly #highWaterMark: number;
  readonly #buffer: (readonly OutputItem[])[] = [];
  #closed = false;
  #error: unknown = undefined;
  #wakeReader: (() => void) | undefined;
  readonly #wakeWriters: (() => void)[] = [];
  #iterating = false;

  constructor(highWaterMark = 16) {
    this.#highWaterMark = Math.max(1, highWaterMark);
  }

  get size(): number {
    return this.#buffer.length;
  }

  /** Queues one batch of results. Throws if the queue was closed. */
  push(items: readonly OutputItem[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('ResultQueue: push after close'));
    this.#buffer.push(items);
    this.#wake();
    if (this.#buffer.length < this.#highWaterMark) return Promise.resolve();
    return new Promise((resolve) => this.#wakeWriters.push(resolve));
  }

  /** No more results: the loader's iteration ends after the queued ones. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  /** Fails the stream: the loader's iteration throws `err` after the queued results. */
  fail(err: unknown): void {
    this.#error = err ?? new Error('ResultQueue failed');
    this.close();
  }

  #wake(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly OutputItem[]> {
    if (this.#iterating) throw new Error('ResultQueue: iterated twice');
    this.#iterating = true;
    try {
      for (;;) {
        const next = this.#buffer.shift();
        if (next !== undefined) {
          if (this.#buffer.length < this.#highWaterMark) for (const w of this.#wakeWriters.splice(0)) w();
          yield next;
          continue;
        }
        if (this.#closed) {
          if (this.#error !== undefined) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => (this.#wakeReader = resolve));
      }
    } finally {
      // Unblock writers if the loader stops early (cancel, error).
      this.#closed = true;
      for (const w of this.#wakeWriters.splice(0)) w();
    }
  }
}
