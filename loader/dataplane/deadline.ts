/**
 * A call's abort scope: one AbortController fired by the deadline, by the client's cancel, or by
 * the loader itself, whichever comes first. Its reason is always an AigesError.
 */
import { AigesError, Codes } from '../errors.js';

export class CallScope {
  readonly controller = new AbortController();
  readonly deadline: number;
  readonly #timer: NodeJS.Timeout;
  readonly #clientSignal: AbortSignal | undefined;
  readonly #onClientAbort = () => this.abort(new AigesError(Codes.CANCELLED, 'the client cancelled the call'));
  /** Rejects with the abort reason; never resolves. Handled, so it never surfaces unhandled. */
  readonly aborted: Promise<never>;

  constructor(deadline: number, timeoutError: () => AigesError, clientSignal?: AbortSignal) {
    this.deadline = deadline;
    this.aborted = new Promise<never>((_, reject) => {
      this.controller.signal.addEventListener('abort', () => reject(this.controller.signal.reason), { once: true });
    });
    this.aborted.catch(() => undefined);
    this.#timer = setTimeout(() => this.abort(timeoutError()), Math.max(0, deadline - Date.now()));
    this.#clientSignal = clientSignal;
    if (clientSignal?.aborted) this.#onClientAbort();
    else clientSignal?.addEventListener('abort', this.#onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: AigesError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Races a promise against the scope's abort. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.aborted]);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#clientSignal?.removeEventListener('abort', this.#onClientAbort);
  }
}
