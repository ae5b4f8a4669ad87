/**
 * The deadlines of many calls on one timer: a binary min-heap of calls by deadline, and one Node
 * timer set for the earliest.
 *
 * NOTE: a Node timer per call (setTimeout when it starts, clearTimeout when it ends) costs every
 * call a timer-list insertion and removal, measurable under load. Here a call that ends is taken
 * out of the heap (O(log n), no allocation) and the timer is left alone: when
 * it fires it expires whatever is due and sets itself for the new earliest deadline. With the
 * usual pattern (deadlines later than every one pending: a fixed default, or clients' timeouts of
 * similar length) the timer is set about once per deadline length, not once per call. The timer
 * keeps the process alive only while the queue holds something.
 */

/** What the queue holds: a deadline, a slot for the queue's bookkeeping, and what to do when due. */
export interface Timed {
  readonly deadline: number;
  /** The item's index in the heap; -1 while it is not queued. Only the queue writes it. */
  heapIndex: number;
  /** Called once, from the timer, when `deadline` has passed and the item is still queued. */
  expire(): void;
}

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class DeadlineQueue {
  readonly #heap: Timed[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the timer is set to fire (epoch ms); Infinity when it is not set. */
  #timerAt = Infinity;

  get size(): number {
    return this.#heap.length;
  }

  /** Queues `item` until its deadline; does nothing if it is queued already. */
  add(item: Timed): void {
    if (item.heapIndex >= 0) return;
    item.heapIndex = this.#heap.length;
    this.#heap.push(item);
    this.#up(item.heapIndex);
    if (item.deadline < this.#timerAt) this.#arm(item.deadline);
    else if (this.#heap.length === 1) this.#timer?.ref();
  }

  /** Takes `item` out (it will not expire); does nothing if it is not queued. */
  remove(item: Timed): void {
    const i = item.heapIndex;
    if (i < 0) return;
    item.heapIndex = -1;
    const last = this.#heap.pop() as Timed;
    // NOTE: an empty queue keeps its timer (the next call usually needs it) but no longer lets it
    // keep the process alive: nothing is waiting for it.
    if (this.#heap.length === 0) this.#timer?.unref();
    if (last === item) return;
    this.#heap[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  /** Stops the timer and drops every item without expiring it. */
  clear(): void {
    for (const item of this.#heap) item.heapIndex = -1;
    this.#heap.length = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // NOTE: Node fires a timer longer than MAX_TIMER_MS after 1 ms; a deadline further away is
    // reached in steps: the timer fires with nothing due and fire() sets it again.
    const now = Date.now();
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - now));
    this.#timerAt = now + delay;
    this.#timer = setTimeout(fire, delay, this);
  }

  /** The timer fired: expire every item that is due, then set the timer for the next one. */
  fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = Date.now();
    let next = this.#heap[0];
    while (next !== undefined && next.deadline <= now) {
      this.remove(next);
      next.expire();
      next = this.#heap[0];
    }
    if (next !== undefined) this.#arm(Math.max(next.deadline, now + 1));
  }

  #up(i: number): void {
    const heap = this.#heap;
    const item = heap[i] as Timed;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as Timed;
      if (parent.deadline <= item.deadline) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    heap[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const item = heap[i] as Timed;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (heap[r] as Timed).deadline < (heap[l] as Timed).deadline ? r : l;
      const child = heap[c] as Timed;
      if (child.deadline >= item.deadline) break;
      heap[i] = child;
      child.heapIndex = i;
      i = c;
    }
    heap[i] = item;
    item.heapIndex = i;
  }
}

function fire(queue: DeadlineQueue): void {
  queue.fire();
}
