/**
 * The signatures seen within the clock-skew window, so that each signed request is taken once.
 *
 * A signature is remembered until its date leaves the window (date + skew), in buckets by that
 * second: forgetting is a walk over the seconds passed since the last call, not a scan. Memory is
 * bounded by `max` entries (16-byte keys, about 64 bytes each with the set and the buckets). When it is
 * full, new requests are refused rather than let through unremembered: failing open would switch
 * replay protection off exactly under a flood; the refusal is the key's rate-limit answer (10208),
 * which clears as old entries age out.
 */
export type Remembered = 'fresh' | 'replay' | 'full';

export class ReplayCache {
  readonly #seen = new Set<string>();
  readonly #bySecond = new Map<number, string[]>();
  /** Every second below this has been forgotten. */
  #floor: number;

  constructor(
    readonly max: number,
    nowS = Math.floor(Date.now() / 1000),
  ) {
    this.#floor = nowS;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Remembers `key` until second `untilS` (inclusive) unless it was seen, or the cache is full. */
  remember(key: string, untilS: number, nowS: number): Remembered {
    this.#forget(nowS);
    if (this.#seen.has(key)) return 'replay';
    if (this.#seen.size >= this.max) return 'full';
    this.#seen.add(key);
    const bucket = this.#bySecond.get(untilS);
    if (bucket === undefined) this.#bySecond.set(untilS, [key]);
    else bucket.push(key);
    return 'fresh';
  }

  #forget(nowS: number): void {
    if (this.#bySecond.size === 0) {
      this.#floor = nowS;
      return;
    }
    for (; this.#floor < nowS; this.#floor++) {
      const keys = this.#bySecond.get(this.#floor);
      if (keys === undefined) continue;
      for (const key of keys) this.#seen.delete(key);
      this.#bySecond.delete(this.#floor);
      if (this.#bySecond.size === 0) this.#floor = nowS - 1;
    }
  }
}
