/**
 * A token bucket: `burst` calls at once, refilled at `rate` calls per second. Refilled lazily when
 * a call takes a token, so an idle key costs nothing.
 */
export class TokenBucket {
  #tokens: number;
  /** When tokens were last counted (before the first call: never, so the bucket starts full). */
  #last = Number.NEGATIVE_INFINITY;

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  /** Takes one token if there is one. `now`: epoch ms (a clock set back refills nothing). */
  take(now = Date.now()): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + (Math.max(0, now - this.#last) * this.rate) / 1000);
    this.#last = Math.max(this.#last, now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Seconds until a token is there (for the refusal's message). */
  waitS(): number {
    return Math.max(0, (1 - this.#tokens) / this.rate);
  }
}
