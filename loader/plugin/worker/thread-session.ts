/**
 * A session inside a worker thread: the plugin's WrapperSession, driven over the session's own
 * port. The session lives on this thread for its whole life.
 *
 * Writes and ends arrive one at a time (the loader's session waits for each to settle before the
 * next) and are answered `done` or `failed`. Results are read from the plugin (its ResultQueue
 * without a promise per batch, any other AsyncIterable one `next()` at a time) and posted with
 * their bytes moved, at most RESULT_WINDOW ahead of what the loader has read: the loader grants
 * more (`credit`) as its client takes them, so a slow client holds the plugin back through its
 * own queue, as in the loader's thread. `destroy` stops the reading, runs the plugin's destroy and
 * closes the port.
 */
import type { MessagePort, Transferable } from 'node:worker_threads';
import { AigesError, Codes } from '../../../plugins/errors.js';
import { RESULT_SOURCE, type ResultSource } from '../../../plugins/result-queue.js';
import type { DataItem, OutputItem, Params, Wrapper, WrapperSession } from '../../../plugins/types.js';
import { PendingInfers, ThreadCall, type ThreadSet } from './thread-context.js';
import { type FromSession, itemsFromWire, outputsToWire, RESULT_WINDOW, type ToSession, toWireError, type WireError } from './wire.js';

export class ThreadSession {
  readonly ctx: ThreadCall;
  readonly #port: MessagePort;
  readonly #gone: () => void;
  #plugin: WrapperSession | undefined;
  #source: ResultSource | undefined;
  #credits = RESULT_WINDOW;
  /** No more results will be posted (they ended, failed, or the session is being destroyed). */
  #over = false;
  #pumping = false;
  #destroying = false;
  /** The write or end running now: the next waits for it. */
  #turn: Promise<void> = Promise.resolve();
  /** The session's ctx.infer calls waiting for the loader. */
  readonly #inferring = new PendingInfers();
  readonly #pump = () => this.#drain();

  constructor(port: MessagePort, set: ThreadSet, sid: string, deadline: number, gone: () => void) {
    this.#port = port;
    this.#gone = gone;
    this.ctx = new ThreadCall(set, sid, deadline, (service, request, options) =>
      this.#inferring.call((id) => this.#port.postMessage({ op: 'infer', id, service, request, options } satisfies FromSession)),
    );
    port.on('message', (message: ToSession) => this.#onMessage(message));
  }

  get sid(): string {
    return this.ctx.sid;
  }

  /** Runs the plugin's `session.create`; answers `created` or `create-failed` (then the port closes). */
  async open(wrapper: Wrapper, params: Params): Promise<void> {
    try {
      const made = (await wrapper.session!.create(params, this.ctx)) as WrapperSession | undefined;
      if (typeof made?.write !== 'function' || typeof made?.results?.[Symbol.asyncIterator] !== 'function') {
        this.#closeWith({
          op: 'create-failed',
          error: toWireError(undefined, { code: Codes.PLUGIN_CREATE, message: 'session.create must return { write, results }' }),
        });
        if (made !== undefined) void Promise.resolve().then(() => made.destroy?.());
        return;
      }
      this.#plugin = made;
      this.#source = sourceOf(made.results);
    } catch (err) {
      this.#closeWith({ op: 'create-failed', error: toWireError(err) });
      return;
    }
    this.#post({ op: 'created' });
    this.#drain();
  }

  /** A fault in this thread was attributed to this session: its results fail with `error`. */
  fail(error: Error): void {
    if (this.#over) return;
    this.#over = true;
    this.#post({ op: 'results-failed', error: toWireError(error) });
  }

  #onMessage(message: ToSession): void {
    switch (message.op) {
      case 'write': {
        const items = itemsFromWire<DataItem>(message.items);
        this.#run(() => this.#plugin!.write(items));
        return;
      }
      case 'end':
        this.#run(() => this.#plugin!.end?.());
        return;
      case 'credit':
        this.#credits += message.batches;
        this.#drain();
        return;
      case 'abort':
        this.ctx.abort(message.reason);
        return;
      case 'destroy':
        void this.#destroy();
        return;
      case 'inferred':
        this.#inferring.settle(message.id, message.items, message.error);
        return;
    }
  }

  #run(op: () => unknown): void {
    this.#turn = this.#turn.then(async () => {
      try {
        await op();
        this.#post({ op: 'done' });
      } catch (err) {
        this.#post({ op: 'failed', error: toWireError(err) });
      }
    });
  }

  /** Posts results while the loader has granted room and the plugin has some ready. */
  #drain(): void {
    if (this.#pumping || this.#source === undefined) return;
    this.#pumping = true;
    try {
      const source = this.#source;
      while (!this.#over && this.#credits > 0) {
        let next: IteratorResult<readonly OutputItem[], undefined> | undefined;
        try {
          next = source.poll();
        } catch (err) {
          this.#over = true;
          this.#post({ op: 'results-failed', error: toWireError(err) });
          return;
        }
        if (next === undefined) {
          source.onReadable(this.#pump);
          return;
        }
        if (next.done === true) {
          this.#over = true;
          this.#post({ op: 'results-end' });
          return;
        }
        const transfer: Transferable[] = [];
        const items = outputsToWire(next.value, transfer);
        this.#credits--;
        this.#post({ op: 'result', items }, transfer);
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #destroy(): Promise<void> {
    if (this.#destroying) return;
    this.#destroying = true;
    this.#over = true;
    this.#source?.cancel();
    let error: WireError | undefined;
    try {
      await this.#plugin?.destroy?.();
    } catch (err) {
      error = toWireError(err);
    }
    this.#closeWith({ op: 'destroyed', error });
  }

  #closeWith(message: FromSession): void {
    this.#post(message);
    this.#port.close();
    this.#inferring.failAll(new AigesError(Codes.INVALID_OP, 'ctx.infer: the calling session is over'));
    this.#gone();
  }

  #post(message: FromSession, transfer?: Transferable[]): void {
    try {
      this.#port.postMessage(message, transfer);
    } catch (err) {
      // Results the loader cannot receive (not cloneable): the session fails, saying why.
      if (message.op !== 'result') throw err;
      this.#over = true;
      this.#port.postMessage({
        op: 'results-failed',
        error: toWireError(err, {
          code: Codes.INVALID_OUTPUT,
          message: `session result cannot be sent to the loader: ${(err as Error).message}`,
        }),
      } satisfies FromSession);
    }
  }
}

/** The plugin's results as a pull source: a ResultQueue offers one; any other AsyncIterable is read one `next()` at a time. */
function sourceOf(results: AsyncIterable<readonly OutputItem[]>): ResultSource {
  const offer = (results as { [RESULT_SOURCE]?: () => ResultSource })[RESULT_SOURCE];
  if (typeof offer === 'function') return offer.call(results);
  const iterator = results[Symbol.asyncIterator]();
  let pulling = false;
  let ready: IteratorResult<readonly OutputItem[]> | undefined;
  let failed: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const settled = () => {
    pulling = false;
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    poll() {
      if (failed !== undefined) throw failed.error;
      if (ready !== undefined) {
        const r = ready;
        ready = undefined;
        return r.done === true ? { done: true, value: undefined } : r;
      }
      if (!pulling) {
        pulling = true;
        Promise.resolve()
          .then(() => iterator.next())
          .then(
            (r) => {
              ready = r;
              settled();
            },
            (error: unknown) => {
              failed = { error };
              settled();
            },
          );
      }
      return undefined;
    },
    onReadable(w) {
      wake = w;
    },
    cancel() {
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    },
  };
}
