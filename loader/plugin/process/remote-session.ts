/**
 * A session of a plugin in a plugin process, as the loader's data plane drives it: a
 * WrapperSession whose write, end and destroy are requests to the plugin process, and whose
 * results are the batches it sends.
 *
 * Backpressure: the plugin process sends at most RESULT_WINDOW batches the session has not read
 * (messages.ts); the session gives credit back as the data plane reads them, so a client that does
 * not read stops the data plane reading, then the plugin process sending, then (through its own
 * queue) the plugin. Writes are held back by the data plane itself: one at a time, each answered
 * once the plugin took it.
 */
import { RESULT_SOURCE, type ResultSource } from '../../../plugins/result-queue.js';
import type { CallContext, DataItem, OutputItem, WrapperSession } from '../../../plugins/types.js';
import type { ChildConnection } from './connection.js';
import { RESULT_WINDOW } from './messages.js';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** The batches a plugin process sent for one session, read by the data plane. */
export class RemoteResults implements AsyncIterable<readonly OutputItem[]> {
  readonly #batches: (readonly OutputItem[])[] = [];
  #ended = false;
  #error: unknown;
  #owed = 0;
  #wake: (() => void) | undefined;
  #reading = false;
  #cancelled = false;

  constructor(private readonly credit: (n: number) => void) {}

  /** A batch came. */
  push(batch: readonly OutputItem[]): void {
    if (this.#ended || this.#cancelled) return;
    this.#batches.push(batch);
    this.#wakeReader();
  }

  /** No more batches: the results ended (`error` undefined) or failed. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#wakeReader();
  }

  [RESULT_SOURCE](): ResultSource {
    this.#startReading();
    return {
      poll: () => this.#poll(),
      onReadable: (wake) => {
        this.#wake = wake;
      },
      cancel: () => {
        this.#cancelled = true;
        this.#batches.length = 0;
      },
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly OutputItem[]> {
    this.#startReading();
    for (;;) {
      const next = this.#poll();
      if (next === undefined) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      if (next.done === true) return;
      yield next.value;
    }
  }

  #startReading(): void {
    if (this.#reading) throw new Error('session results read twice');
    this.#reading = true;
  }

  #poll(): IteratorResult<readonly OutputItem[], undefined> | undefined {
    const batch = this.#batches.shift();
    if (batch !== undefined) {
      // Credit goes back in halves of the window: one message per few batches, and never a stall
      // (when the buffer runs dry the whole window is owed).
      if (++this.#owed >= RESULT_WINDOW / 2) {
        this.credit(this.#owed);
        this.#owed = 0;
      }
      return { done: false, value: batch };
    }
    if (!this.#ended) return undefined;
    if (this.#error !== undefined) throw this.#error;
    return DONE;
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

export class RemoteSession implements WrapperSession {
  readonly results: RemoteResults;
  readonly #signal: AbortSignal;
  readonly #onAbort: () => void;
  #destroyed = false;

  constructor(
    private readonly connection: ChildConnection,
    readonly id: number,
    ctx: CallContext<unknown>,
  ) {
    this.results = new RemoteResults((n) => connection.send({ t: 'credit', s: id, n }));
    this.#signal = ctx.signal;
    this.#onAbort = () => connection.cancel(id, this.#signal.reason);
    this.#signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  write(items: readonly DataItem[]): Promise<void> {
    return this.connection.request({ t: 'write', s: this.id }, items);
  }

  end(): Promise<void> {
    return this.connection.request({ t: 'end', s: this.id });
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    try {
      await this.connection.request({ t: 'destroy', s: this.id });
    } finally {
      this.connection.forget(this.id);
    }
  }

  /** The plugin process died: the results fail with `error`; nothing is left to destroy. */
  lost(error: Error): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.results.end(error);
  }
}
