/**
 * Counting semaphore. Waiters are served in order and leave the queue when their signal aborts.
 * The queue is bounded by whoever calls acquire: the data plane only waits here after admission,
 * so at most `capacity` callers ever wait.
 */
export class Semaphore {
  #available: number;
  readonly #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(readonly permits: number) {
    this.#available = permits;
  }

  get available(): number {
    return this.#available;
  }

  /** Takes a permit at once if one is free (and nobody waits); null otherwise. */
  tryAcquire(): (() => void) | null {
    if (this.#available === 0 || this.#waiters.length > 0) return null;
    this.#available--;
    return this.#releaser();
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw signal.reason;
    if (this.#available > 0) {
      this.#available--;
      return this.#releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
    return this.#releaser();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next !== undefined) next.resolve();
      else this.#available++;
    };
  }
}
