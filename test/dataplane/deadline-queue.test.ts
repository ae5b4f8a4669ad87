import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue, MAX_TIMER_MS, type Timed } from '../../loader/dataplane/deadline-queue.js';

function timed(deadline: number, expired: number[]): Timed {
  return { deadline, heapIndex: -1, expire: () => expired.push(deadline) };
}

describe('DeadlineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires items in deadline order, each when its deadline passes, whatever the order they came in', () => {
    const q = new DeadlineQueue();
    const expired: number[] = [];
    const now = Date.now();
    for (const ms of [50, 10, 30, 20, 40]) q.add(timed(now + ms, expired));
    vi.advanceTimersByTime(25);
    expect(expired).toEqual([now + 10, now + 20]);
    vi.advanceTimersByTime(30);
    expect(expired).toEqual([now + 10, now + 20, now + 30, now + 40, now + 50]);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a removed item never expires; removing one twice, or one never added, does nothing', () => {
    const q = new DeadlineQueue();
    const expired: number[] = [];
    const now = Date.now();
    const items = [10, 20, 30, 40].map((ms) => timed(now + ms, expired));
    for (const item of items) q.add(item);
    q.remove(items[0]!);
    q.remove(items[2]!);
    q.remove(items[2]!);
    q.remove(timed(now + 5, expired));
    expect(q.size).toBe(2);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([now + 20, now + 40]);
    expect(items.every((i) => i.heapIndex === -1)).toBe(true);
  });

  it('keeps one timer: adding later deadlines does not re-arm it; an earlier one does', () => {
    const q = new DeadlineQueue();
    const expired: number[] = [];
    const now = Date.now();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    q.add(timed(now + 1000, expired));
    for (let i = 1; i <= 100; i++) q.add(timed(now + 1000 + i, expired));
    expect(spy).toHaveBeenCalledTimes(1);
    q.add(timed(now + 10, expired));
    expect(spy).toHaveBeenCalledTimes(2);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10);
    expect(expired).toEqual([now + 10]);
    spy.mockRestore();
  });

  it('items that end before their deadline leave the timer to fire once and re-arm for the next', () => {
    const q = new DeadlineQueue();
    const expired: number[] = [];
    const start = Date.now();
    // A steady stream: each call lives 5 ms, all with a 1 s deadline.
    for (let t = 0; t < 3000; t += 5) {
      const item = timed(Date.now() + 1000, expired);
      q.add(item);
      vi.advanceTimersByTime(5);
      q.remove(item);
    }
    expect(expired).toEqual([]);
    expect(q.size).toBe(0);
    expect(Date.now() - start).toBe(3000);
  });

  it('clear drops every item and the timer', () => {
    const q = new DeadlineQueue();
    const expired: number[] = [];
    const item = timed(Date.now() + 10, expired);
    q.add(item);
    q.clear();
    expect(item.heapIndex).toBe(-1);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([]);
  });

  it('holds the heap order through random adds and removes (checked against a sort)', () => {
    const q = new DeadlineQueue();
    const expired: number[] = [];
    const now = Date.now();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const live: Timed[] = [];
    for (let i = 0; i < 2000; i++) {
      if (live.length > 0 && rand() < 0.4) {
        const [gone] = live.splice(Math.floor(rand() * live.length), 1);
        q.remove(gone!);
      } else {
        const item = timed(now + 1 + Math.floor(rand() * 10_000), expired);
        live.push(item);
        q.add(item);
      }
    }
    vi.advanceTimersByTime(20_000);
    expect(expired).toEqual(live.map((i) => i.deadline).sort((a, b) => a - b));
  });

  it('a deadline further away than a Node timer reaches (24.8 days) expires then, not at once', () => {
    const q = new DeadlineQueue();
    const expired: number[] = [];
    const now = Date.now();
    const day = 86_400_000;
    q.add(timed(now + 40 * day, expired));
    q.add(timed(Infinity, expired));
    // The timer is set as far as a Node timer goes, not for 1 ms (what Node does with a longer delay).
    vi.advanceTimersToNextTimer();
    expect(Date.now() - now).toBe(MAX_TIMER_MS);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(40 * day - MAX_TIMER_MS - 1);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([now + 40 * day]);
    expect(q.size).toBe(1);
  });
});
