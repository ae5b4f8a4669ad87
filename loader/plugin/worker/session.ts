/**
 * The loader's side of a session that lives in a worker thread: a WrapperSession the data plane
 * drives like any other (dataplane/session.ts), speaking over the session's port.
 *
 * - `write` and `end` post the items (bytes moved) and settle when the thread's plugin has taken
 *   them; the data plane makes them one at a time, so replies come back in order.
 * - `results` is a ResultSource (read without a promise per batch): batches arrive as the thread
 *   reads them from the plugin, at most RESULT_WINDOW ahead; each batch the data plane takes is
 *   granted back to the thread (half a window at a time), so while the data plane is paused by a
 *   slow client nothing is granted and the plugin's own queue fills.
 * - the call's signal firing (deadline, cancel, drain, the session's end) is passed on.
 * - `destroy` settles once the thread's plugin destroyed it.
 * If the thread dies, everything pending fails with 10109 (CRASH) and `destroy` settles at once.
 */
import type { MessagePort, Transferable } from 'node:worker_threads';
import { AigesError, Codes } from '../../errors.js';
import { RESULT_SOURCE, type ResultSource } from '../../../plugins/result-queue.js';
import type { CallContext, DataItem, OutputItem, ServiceResponse, WrapperSession } from '../../../plugins/types.js';
import { type FromSession, fromWireError, itemsFromWire, itemsToWire, RESULT_WINDOW, type ToSession, toWireError } from './wire.js';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

export class ThreadSessionProxy implements WrapperSession, ResultSource {
  readonly #port: MessagePort;
  readonly #thread: number;
  #created: { resolve: (session: ThreadSessionProxy) => void; reject: (error: Error) => void } | undefined;
  /** Writes and ends posted and not yet answered, in order. */
  readonly #pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  readonly #batches: (readonly OutputItem[])[] = [];
  #taken = 0;
  #resultsEnded = false;
  #resultsError: Error | undefined;
  #wake: (() => void) | undefined;
  #destroyed: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #destroyError: Error | undefined;
  #dead: AigesError | undefined;
  #closed = false;
  /** Called once when the session is over on the thread (destroyed, never made, or the thread died). */
  readonly #gone: () => void;
  readonly #ctx: CallContext<unknown>;
  readonly results: AsyncIterable<readonly OutputItem[]>;

  constructor(port: MessagePort, thread: number, ctx: CallContext<unknown>, gone: () => void) {
    this.#port = port;
    this.#ctx = ctx;
    this.#thread = thread;
    this.#gone = gone;
    port.on('message', (message: FromSession) => this.#onMessage(message));
    port.once('close', () => this.#onClose());
    port.unref();
    const signal = ctx.signal;
    const onAbort = () => this.#post({ op: 'abort', reason: toWireError(signal.reason) });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const self = this;
    this.results = {
      [RESULT_SOURCE]: () => self,
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = self.poll();
          if (next === undefined) {
            await new Promise<void>((resolve) => self.onReadable(resolve));
            continue;
          }
          if (next.done === true) return;
          yield next.value;
        }
      },
    } as AsyncIterable<readonly OutputItem[]>;
  }

  /** Resolves with this session once the thread's plugin made it; rejects with its error. */
  created(): Promise<ThreadSessionProxy> {
    return new Promise((resolve, reject) => {
      if (this.#dead !== undefined) reject(this.#dead);
      else this.#created = { resolve, reject };
    });
  }

  write(items: readonly DataItem[]): Promise<void> {
    const transfer: Transferable[] = [];
    return this.#op({ op: 'write', items: itemsToWire(items, transfer) }, transfer);
  }

  end(): Promise<void> {
    return this.#op({ op: 'end' });
  }

  destroy(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#destroyed = { resolve, reject };
      this.#post({ op: 'destroy' });
    });
  }

  // ResultSource: what the data plane reads the results through.

  poll(): IteratorResult<readonly OutputItem[], undefined> | undefined {
    const batch = this.#batches.shift();
    if (batch !== undefined) {
      if (++this.#taken >= RESULT_WINDOW / 2) {
        this.#post({ op: 'credit', batches: this.#taken });
        this.#taken = 0;
      }
      return { done: false, value: batch };
    }
    if (this.#resultsError !== undefined) throw this.#resultsError;
    return this.#resultsEnded ? DONE : undefined;
  }

  onReadable(wake: () => void): void {
    this.#wake = wake;
  }

  cancel(): void {
    this.#batches.length = 0;
  }

  #op(message: ToSession, transfer?: Transferable[]): Promise<void> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#post(message, transfer);
    });
  }

  #post(message: ToSession, transfer?: Transferable[]): void {
    if (!this.#closed) this.#port.postMessage(message, transfer);
  }

  #onMessage(message: FromSession): void {
    switch (message.op) {
      case 'created': {
        const created = this.#created;
        this.#created = undefined;
        created?.resolve(this);
        return;
      }
      case 'create-failed': {
        const created = this.#created;
        this.#created = undefined;
        created?.reject(fromWireError(message.error));
        return;
      }
      case 'done':
        this.#pending.shift()?.resolve();
        return;
      case 'failed':
        this.#pending.shift()?.reject(fromWireError(message.error));
        return;
      case 'result':
        this.#batches.push(itemsFromWire<OutputItem>(message.items));
        this.#wakeReader();
        return;
      case 'results-end':
        this.#resultsEnded = true;
        this.#wakeReader();
        return;
      case 'results-failed':
        this.#resultsError = fromWireError(message.error);
        this.#wakeReader();
        return;
      case 'destroyed':
        // The thread closes the port next.
        if (message.error !== undefined) this.#destroyError = fromWireError(message.error);
        return;
      case 'infer':
        this.#infer(message);
        return;
    }
  }

  /** The session's ctx.infer, made under the session here; the answer's items are copied back (the callee may keep them). */
  #infer(message: Extract<FromSession, { op: 'infer' }>): void {
    let answer: Promise<ServiceResponse>;
    try {
      answer = this.#ctx.infer(message.service, message.request, message.options);
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (a) => this.#post({ op: 'inferred', id: message.id, items: [...a.items], error: undefined }),
      (err: unknown) => this.#post({ op: 'inferred', id: message.id, items: undefined, error: toWireError(err) }),
    );
  }

  #onClose(): void {
    this.#closed = true;
    const destroyed = this.#destroyed;
    if (destroyed === undefined) {
      // Closed without our destroy: never made, or its thread died.
      this.#dead = new AigesError(Codes.CRASH, `the plugin's worker thread ${this.#thread} died during the session`);
      this.#created?.reject(this.#dead);
      this.#created = undefined;
      for (const op of this.#pending.splice(0)) op.reject(this.#dead);
      if (!this.#resultsEnded) this.#resultsError ??= this.#dead;
      this.#wakeReader();
    } else {
      for (const op of this.#pending.splice(0)) op.resolve();
      if (this.#destroyError === undefined) destroyed.resolve();
      else destroyed.reject(this.#destroyError);
    }
    this.#gone();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
