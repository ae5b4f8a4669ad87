/**
 * A count of things in use (calls admitted, calls and sessions on a plugin set) and a way to wait
 * until none is: what a drain waits for before it finalises or cancels.
 */
export class InUse {
  #count = 0;
  readonly #idleWaiters: (() => void)[] = [];

  get count(): number {
    return this.#count;
  }

  enter(): void {
    this.#count++;
  }

  /** Pairs with one `enter`; wakes the `idle` waiters when the count reaches 0. */
  leave(): void {
    this.#count--;
    if (this.#count === 0 && this.#idleWaiters.length > 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /** Resolves true when nothing is in use, false if `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.#idleWaiters.indexOf(wake);
        if (i >= 0) this.#idleWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      this.#idleWaiters.push(wake);
    });
  }
}
