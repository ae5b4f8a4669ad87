import type { OutputItem } from './types.js';

/**
 * The key under which a session's `results` may offer the loader a pull source instead of async
 * iteration (a ResultQueue does). Symbol.for, so a plugin bundling its own SDK copy offers the same.
 */
export const RESULT_SOURCE: unique symbol = Symbol.for('aiges.results.source.v1') as never;

/**
 * What the loader reads a session's results through: without a promise per batch.
 * - `poll()` returns the next batch (`{ done: false, value }`), `{ done: true }` after the last, or
 *   undefined when none is ready yet; it throws the error the results failed with.
 * - `onReadable(wake)` asks for one call of `wake` when `poll` may have something new.
 * - `cancel()`: the loader stops reading (the session is over).
 */
export interface ResultSource {
  poll(): IteratorResult<readonly OutputItem[], undefined> | undefined;
  onReadable(wake: () => void): void;
  cancel(): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A bounded queue a session uses for its `results`: `write` pushes, the loader reads. Read by the
 * loader exactly once (through RESULT_SOURCE or async iteration).
 *
 * `push` returns undefined while the queue is below `highWaterMark` (nothing to wait for), else a
 * promise that resolves once the loader has taken enough; a plugin that awaits what it returns
 * never buffers without bound.
 */
export class ResultQueue implements AsyncIterable<readonly OutputItem[]> {
  readonly #highWaterMark: number;
  readonly #buffer: (readonly OutputItem[])[] = [];
  #closed = false;
  #error: unknown = undefined;
  #wakeReader: (() => void) | undefined;
  readonly #wakeWriters: (() => void)[] = [];
  #reading = false;
  /** The loader stopped reading (the session is over): later pushes are dropped. */
  #readerGone = false;

  constructor(highWaterMark = 16) {
    this.#highWaterMark = Math.max(1, highWaterMark);
  }

  get size(): number {
    return this.#buffer.length;
  }

  /**
   * Queues one batch of results. Returns undefined while the queue has room, else a promise that
   * resolves when the loader has read it below the high-water mark. Throws if the plugin closed
   * the queue; after the loader stopped reading (the session is over) the batch is dropped.
   */
  push(items: readonly OutputItem[]): Promise<void> | undefined {
    if (this.#readerGone) return undefined;
    if (this.#closed) throw new Error('ResultQueue: push after close');
    this.#buffer.push(items);
    this.#wake();
    if (this.#buffer.length < this.#highWaterMark) return undefined;
    return new Promise((resolve) => this.#wakeWriters.push(resolve));
  }

  /** No more results: the loader's reading ends after the queued ones. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
  }

  /** Fails the results: the loader's reading throws `err` after the queued results. */
  fail(err: unknown): void {
    if (this.#closed) return;
    this.#error = err ?? new Error('ResultQueue failed');
    this.close();
  }

  /** The loader's pull source (see ResultSource). */
  [RESULT_SOURCE](): ResultSource {
    this.#startReading();
    return {
      poll: () => this.#poll(),
      onReadable: (wake) => {
        this.#wakeReader = wake;
      },
      cancel: () => this.#stopReading(),
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly OutputItem[]> {
    this.#startReading();
    try {
      for (;;) {
        const next = this.#poll();
        if (next === undefined) {
          await new Promise<void>((resolve) => (this.#wakeReader = resolve));
          continue;
        }
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      this.#stopReading();
    }
  }

  #startReading(): void {
    if (this.#reading) throw new Error('ResultQueue: read twice');
    this.#reading = true;
  }

  #poll(): IteratorResult<readonly OutputItem[], undefined> | undefined {
    const next = this.#buffer.shift();
    if (next !== undefined) {
      if (this.#wakeWriters.length > 0 && this.#buffer.length < this.#highWaterMark) for (const w of this.#wakeWriters.splice(0)) w();
      return { done: false, value: next };
    }
    if (!this.#closed) return undefined;
    if (this.#error !== undefined) throw this.#error;
    return DONE;
  }

  /** The reader stopped (session over, or iteration left early): writers are never left waiting. */
  #stopReading(): void {
    this.#readerGone = true;
    this.#buffer.length = 0;
    for (const w of this.#wakeWriters.splice(0)) w();
  }

  #wake(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
  }
}
