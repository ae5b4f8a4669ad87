/**
 * Restart delays of a crashing plugin process: exponential (first, 2 × first, … up to max), back
 * to the first once the process has run for `stableMs` without dying.
 */
export class Backoff {
  #next: number;

  constructor(
    readonly firstMs = 100,
    readonly maxMs = 10_000,
    readonly stableMs = 10_000,
  ) {
    this.#next = firstMs;
  }

  /** The delay before the next restart; each call doubles the one after (up to maxMs). */
  next(): number {
    const delay = this.#next;
    this.#next = Math.min(this.maxMs, delay * 2);
    return delay;
  }

  /** The process ran for stableMs: the next crash restarts after firstMs again. */
  reset(): void {
    this.#next = this.firstMs;
  }
}
