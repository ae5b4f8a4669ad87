/**
 * The exec slots of a plugin instance set: at most `plugin.concurrency` once calls run inside the
 * plugin at a time. A call takes a slot before the plugin's exec starts and gives it back when the
 * exec returns or settles, not when the client got its answer: an exec abandoned at its deadline
 * keeps its slot until the plugin lets go of it, so the plugin never sees more than `concurrency`
 * execs at once.
 *
 * Waiters are served in order. The queue is bounded by admission: only admitted calls wait here,
 * so at most `limits.capacity` ever do. The slot count may change while slots are held (`resize`,
 * hot config): holders keep theirs; a shrink takes effect as they give them back.
 */

/** A call waiting for a slot; `granted` is called once, when it holds one. */
export interface SlotWaiter {
  granted(): void;
}

export class ExecSlots {
  /** Slots free now; negative after a shrink below the number held. */
  #available: number;
  #slots: number;
  readonly #waiters: SlotWaiter[] = [];

  constructor(slots: number) {
    this.#slots = slots;
    this.#available = slots;
  }

  get slots(): number {
    return this.#slots;
  }

  get available(): number {
    return this.#available;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Sets the slot count; a grow serves waiters at once, a shrink never takes a slot back. */
  resize(slots: number): void {
    this.#available += slots - this.#slots;
    this.#slots = slots;
    while (this.#available > 0 && this.#waiters.length > 0) {
      this.#available--;
      this.#waiters.shift()!.granted();
    }
  }

  /** Takes a slot at once if one is free and nobody waits; the caller gives it back with `give`. */
  tryTake(): boolean {
    if (this.#available <= 0 || this.#waiters.length > 0) return false;
    this.#available--;
    return true;
  }

  /** Queues `waiter` for the next slot (after `tryTake` failed). */
  wait(waiter: SlotWaiter): void {
    this.#waiters.push(waiter);
  }

  /** Takes `waiter` out of the queue (its call ended first); false when it was not queued. */
  withdraw(waiter: SlotWaiter): boolean {
    const i = this.#waiters.indexOf(waiter);
    if (i < 0) return false;
    this.#waiters.splice(i, 1);
    return true;
  }

  /** Gives back a slot: to the first waiter, else to the pool. */
  give(): void {
    const next = this.#available >= 0 ? this.#waiters.shift() : undefined;
    if (next !== undefined) next.granted();
    else this.#available++;
  }
}
