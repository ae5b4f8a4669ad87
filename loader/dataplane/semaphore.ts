/**
 * Counting semaphore. Waiters are served in order and leave the queue when their signal aborts.
 * The queue is bounded by whoever calls acquire: the data plane only waits here after admission,
 * so at most `capacity` callers ever wait. The permit count may change while permits are held
 * (`resize`): holders keep theirs; a shrink takes effect as they give them back.
 */
export class Semaphore {
  /** Permits free now; negative after a shrink below the number held. */
  #available: number;
  #permits: number;
  readonly #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(permits: number) {
    this.#permits = permits;
    this.#available = permits;
  }

  get permits(): number {
    return this.#permits;
  }

  /** Sets the permit count; a grow wakes waiters at once, a shrink never takes a permit back. */
  resize(permits: number): void {
    this.#available += permits - this.#permits;
    this.#permits = permits;
    while (this.#available > 0 && this.#waiters.length > 0) {
      this.#available--;
      this.#waiters.shift()!.resolve();
    }
  }

  get available(): number {
    return this.#available;
  }

  /**
   * Takes a permit at once if one is free (and nobody waits). The caller gives it back with
   * `give()`, exactly once (no releaser object: the once-call hot path).
   */
  tryTake(): boolean {
    if (this.#available <= 0 || this.#waiters.length > 0) return false;
    this.#available--;
    return true;
  }

  /** Gives back a permit taken with `tryTake` or `take`: to the first waiter, else to the pool. */
  give(): void {
    const next = this.#available >= 0 ? this.#waiters.shift() : undefined;
    if (next !== undefined) next.resolve();
    else this.#available++;
  }

  /** Waits for a permit, in order; rejects with the signal's reason if it aborts first. */
  async take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (this.#available > 0) {
      this.#available--;
      return;
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
  }
}
