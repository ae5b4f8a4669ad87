/**
 * Admission control: a loader admits at most `capacity` once calls plus open sessions at a time
 * (AIGes's licences). Past it a call is refused at once with 10110 so a balancer can go elsewhere;
 * nothing queues here. While draining, every new call is refused with 10101. The capacity may change
 * while calls run (hot config): a drop refuses new calls until enough admitted ones end, and never
 * cancels one already admitted.
 */
import { AigesError, Codes } from '../errors.js';

export type SlotKind = 'once' | 'session';

export interface Slot {
  readonly kind: SlotKind;
  /** Frees the slot; later calls do nothing. */
  release(): void;
}

export class Admission {
  #once = 0;
  #sessions = 0;
  #accepting = true;
  readonly #idleWaiters: (() => void)[] = [];
  readonly #listeners = new Set<() => void>();
  #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Changes the capacity from the next acquire on; calls already admitted go on (the load may read > 1 meanwhile). */
  setCapacity(capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    if (capacity === this.#capacity) return;
    this.#capacity = capacity;
    this.#changed();
  }

  get inUse(): number {
    return this.#once + this.#sessions;
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

  /** Called on every acquire and release (load reports ride on this). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  acquire(kind: SlotKind): Slot {
    this.#admit(kind);
    let released = false;
    return {
      kind,
      release: () => {
        if (released) return;
        released = true;
        this.#free(kind);
      },
    };
  }

  /**
   * `acquire('once')` without a Slot object, for the once-call hot path: the caller pairs it
   * with exactly one `releaseOnce()`.
   */
  acquireOnce(): void {
    this.#admit('once');
  }

  releaseOnce(): void {
    this.#free('once');
  }

  /** Throws 10101 while draining (what acquire would throw, checked before anything else of a call). */
  checkAccepting(): void {
    if (!this.#accepting) throw new AigesError(Codes.INSTANCE_INACTIVE, 'the loader is not accepting calls (draining)');
  }

  #admit(kind: SlotKind): void {
    this.checkAccepting();
    if (this.inUse >= this.capacity) {
      throw new AigesError(Codes.CAPACITY, `capacity of ${this.capacity} calls and sessions is full`, {
        detail: { capacity: this.capacity },
      });
    }
    if (kind === 'once') this.#once++;
    else this.#sessions++;
    this.#changed();
  }

  #free(kind: SlotKind): void {
    if (kind === 'once') this.#once--;
    else this.#sessions--;
    this.#changed();
    if (this.inUse === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Resolves true when nothing is admitted, false if `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.inUse === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#idleWaiters.splice(this.#idleWaiters.indexOf(waiter), 1);
        resolve(false);
      }, timeoutMs);
      this.#idleWaiters.push(waiter);
    });
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}
