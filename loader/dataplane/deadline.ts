/**
 * A call's abort scope, fired once by the deadline, by the client's cancel, or by the loader
 * itself, whichever comes first; its reason is always an AigesError.
 *
 * NOTE: this sits on every call's hot path, so it allocates little: the AbortController behind
 * `signal` is made only when someone reads `signal` (most plugins never do), and `race` needs
 * no extra promise per scope.
 */
import { AigesError, Codes } from '../errors.js';

/** What an adapter cancels when its client goes away: a call or a session being set up. */
export interface Cancellable {
  /** Ends the call with CANCELLED (10202) unless it already ended; later calls do nothing. */
  cancel(): void;
}

export interface ScopeOptions {
  /** The client's cancellation as an AbortSignal. */
  signal?: AbortSignal | undefined;
  /**
   * Or as a subscription (cheaper than a signal per call): called once with the call; the adapter
   * calls its `cancel()` when the client goes away.
   */
  onCancel?: ((call: Cancellable) => void) | undefined;
}

export class CallScope implements Cancellable {
  readonly deadline: number;
  readonly #timer: NodeJS.Timeout;
  #controller: AbortController | undefined;
  #reason: AigesError | undefined;
  #disposed = false;
  readonly #listeners = new Set<(reason: AigesError) => void>();
  readonly #clientSignal: AbortSignal | undefined;
  readonly #onClientAbort = () => this.abort(new AigesError(Codes.CANCELLED, 'the client cancelled the call'));

  constructor(deadline: number, timeoutError: () => AigesError, client: ScopeOptions = {}) {
    this.deadline = deadline;
    this.#timer = setTimeout(() => this.abort(timeoutError()), Math.max(0, deadline - Date.now()));
    this.#clientSignal = client.signal;
    if (client.signal?.aborted) this.#onClientAbort();
    else client.signal?.addEventListener('abort', this.#onClientAbort, { once: true });
    client.onCancel?.(this);
  }

  cancel(): void {
    if (!this.#disposed) this.#onClientAbort();
  }

  /** Aborted with the scope's reason; made on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#reason !== undefined;
  }

  /** Why the scope was aborted (undefined while it was not). */
  get reason(): AigesError | undefined {
    return this.#reason;
  }

  /** Runs `listener` once when the scope aborts (at once if it already has). */
  onAbort(listener: (reason: AigesError) => void): void {
    if (this.#reason !== undefined) listener(this.#reason);
    else this.#listeners.add(listener);
  }

  abort(reason: AigesError): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    for (const listener of [...this.#listeners]) listener(reason);
    this.#listeners.clear();
  }

  /** Settles like `work`, or rejects with the abort reason if the scope aborts first. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.#reason !== undefined) {
      work.catch(() => undefined); // abandoned: its failure must not be an unhandled rejection
      return Promise.reject(this.#reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#listeners.add(reject);
      work.then(
        (value) => {
          this.#listeners.delete(reject);
          resolve(value);
        },
        (err: unknown) => {
          this.#listeners.delete(reject);
          reject(err);
        },
      );
    });
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.#clientSignal?.removeEventListener('abort', this.#onClientAbort);
  }
}

/** Whether a plugin's result is a promise (or any thenable) to await, rather than a value. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
