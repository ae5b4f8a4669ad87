/**
 * The two ends of a session's results in the loader:
 * - where they come from: the plugin's `results`, read as a ResultSource (plugins/result-queue.ts):
 *   a ResultQueue offers one directly, any other AsyncIterable is read one `next()` at a time;
 * - where they go: a SessionSink, the adapter's (a gRPC stream) or a ResultBuffer for
 *   consumers that ask for results when they please (HTTP session steps, `aiges check`, tests).
 */
import type { AigesError } from '../errors.js';
import { RESULT_SOURCE, type ResultSource } from '../../plugins/result-queue.js';
import type { DataItem, OutputItem, SessionResult } from '../../plugins/types.js';

export type { ResultSource };

/** Where a session delivers its results. */
export interface SessionSink {
  /**
   * One batch of results, in order; the last has status END. Return false to pause: the session
   * reads no more of the plugin's results until `Session.resume()`.
   */
  result(result: SessionResult): boolean;
  /** Called once when the session is over: undefined after the END result, else the error that ended it. */
  close(error: AigesError | undefined): void;
}

/** The plugin's results as a ResultSource. */
export function resultSourceOf(results: AsyncIterable<readonly OutputItem[]>): ResultSource {
  const offer = (results as { [RESULT_SOURCE]?: () => ResultSource })[RESULT_SOURCE];
  if (typeof offer === 'function') return offer.call(results);
  return new IteratorSource(results[Symbol.asyncIterator]());
}

/** Any AsyncIterator as a ResultSource: one `next()` in flight at a time. */
class IteratorSource implements ResultSource {
  readonly #iterator: AsyncIterator<readonly OutputItem[]>;
  #pulling = false;
  #ready: IteratorResult<readonly OutputItem[]> | undefined;
  #failed = false;
  #error: unknown;
  #wake: (() => void) | undefined;

  constructor(iterator: AsyncIterator<readonly OutputItem[]>) {
    this.#iterator = iterator;
  }

  poll(): IteratorResult<readonly OutputItem[], undefined> | undefined {
    if (this.#failed) throw this.#error;
    const ready = this.#ready;
    if (ready !== undefined) {
      this.#ready = undefined;
      return ready.done === true ? { done: true, value: undefined } : ready;
    }
    if (!this.#pulling) this.#pull();
    return undefined;
  }

  onReadable(wake: () => void): void {
    this.#wake = wake;
  }

  cancel(): void {
    // Let the plugin's generator clean up; never wait on it (it may be stuck).
    Promise.resolve()
      .then(() => this.#iterator.return?.())
      .catch(() => undefined);
  }

  #pull(): void {
    this.#pulling = true;
    const settled = () => {
      this.#pulling = false;
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    };
    let next: Promise<IteratorResult<readonly OutputItem[]>>;
    try {
      next = this.#iterator.next();
    } catch (err) {
      next = Promise.reject(err);
    }
    Promise.resolve(next).then(
      (result) => {
        this.#ready = result;
        settled();
      },
      (err: unknown) => {
        this.#failed = true;
        this.#error = err;
        settled();
      },
    );
  }
}

/** The batches a ResultBuffer holds before it pauses its session. */
export const RESULT_BUFFER_BATCHES = 1024;

/**
 * A sink that keeps a session's results until they are taken. Bounded: past `highWaterMark`
 * batches it pauses the session (the plugin's own queue then holds it back) until `take` or
 * `next` makes room.
 */
export class ResultBuffer implements SessionSink, AsyncIterable<SessionResult> {
  readonly #batches: SessionResult[] = [];
  readonly #highWaterMark: number;
  #resume: (() => void) | undefined;
  #closed = false;
  #error: AigesError | undefined;
  #wake: (() => void) | undefined;
  /** Resolves when the session is over (ended or failed); never rejects. */
  readonly finished: Promise<void>;
  #finish!: () => void;

  constructor(highWaterMark = RESULT_BUFFER_BATCHES) {
    this.#highWaterMark = highWaterMark;
    this.finished = new Promise((resolve) => (this.#finish = resolve));
  }

  /** How the buffer resumes the session it paused (set by whoever starts the session on it). */
  onResume(resume: () => void): void {
    this.#resume = resume;
  }

  get done(): boolean {
    return this.#closed;
  }

  result(result: SessionResult): boolean {
    this.#batches.push(result);
    this.#wakeReader();
    return this.#batches.length < this.#highWaterMark;
  }

  close(error: AigesError | undefined): void {
    this.#closed = true;
    this.#error = error;
    this.#wakeReader();
    this.#finish();
  }

  /**
   * Takes every item gathered since the last take, and whether the session is over; throws the
   * error that ended the session.
   */
  take(): { items: DataItem[]; ended: boolean } {
    if (this.#error !== undefined) throw this.#error;
    const items: DataItem[] = [];
    for (const batch of this.#batches.splice(0)) for (const item of batch.items) items.push(item);
    this.#resume?.();
    return { items, ended: this.#closed };
  }

  /** Resolves at the next result or the end (at once if it is over). */
  changed(): Promise<void> {
    if (this.#closed || this.#batches.length > 0) return Promise.resolve();
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /** Every batch in order, the last with status END; throws the error that ended the session. */
  async *[Symbol.asyncIterator](): AsyncIterator<SessionResult> {
    for (;;) {
      const batch = this.#batches.shift();
      if (batch !== undefined) {
        this.#resume?.();
        yield batch;
        continue;
      }
      if (this.#closed) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
