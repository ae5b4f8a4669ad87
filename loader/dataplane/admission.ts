/**
 * Admission control: a loader admits at most `capacity` once calls plus open sessions at a time
 * (AIGes's licences). Past it a call is refused at once with 10110 so a balancer can go elsewhere;
 * nothing queues here. While draining, every new call is refused with 10101. The capacity may change
 * while calls run (hot config): a drop refuses new calls until enough admitted ones end, and never
 * cancels one already admitted.
 */
import { AigesError, Codes } from '../errors.js';
import { InUse } from '../lib/in-use.js';

export type SlotKind = 'once' | 'session';

export class Admission {
  #once = 0;
  #sessions = 0;
  readonly #admitted = new InUse();
  #accepting = true;
  readonly #listeners = new Set<() => void>();
  #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Changes the capacity from the next `take` on; calls already admitted go on (the load may read > 1 meanwhile). */
  setCapacity(capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    if (capacity === this.#capacity) return;
    this.#capacity = capacity;
    this.#changed();
  }

  get inUse(): number {
    return this.#admitted.count;
  }

  get onceCalls(): number {
    return this.#once;
  }

  get sessions(): number {
    return this.#sessions;
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** Load ratio, in [0, 1] except briefly after a capacity drop: what balancers compare. */
  get load(): number {
    return this.inUse / this.capacity;
  }

  /** Called on every take and give (load reports ride on this). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Throws 10101 while draining (what `take` would throw, checked before anything else of a call). */
  checkAccepting(): void {
    if (!this.#accepting) throw new AigesError(Codes.INSTANCE_INACTIVE, 'the loader is not accepting calls (draining)');
  }

  /** Admits one call or session, or throws 10101 (draining) / 10110 (full). Pair with one `give`. */
  take(kind: SlotKind): void {
    this.checkAccepting();
    if (this.inUse >= this.capacity) {
      throw new AigesError(Codes.CAPACITY, `capacity of ${this.capacity} calls and sessions is full`, {
        detail: { capacity: this.capacity },
      });
    }
    if (kind === 'once') this.#once++;
    else this.#sessions++;
    this.#admitted.enter();
    this.#changed();
  }

  give(kind: SlotKind): void {
    if (kind === 'once') this.#once--;
    else this.#sessions--;
    this.#admitted.leave();
    this.#changed();
  }

  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Resolves true when nothing is admitted, false if `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    return this.#admitted.idle(timeoutMs);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}
