import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../loader/dataplane/semaphore.js';

describe('Semaphore resize (hot config)', () => {
  it('a grow wakes waiters at once; a shrink takes no permit back and applies as holders give back', async () => {
    const s = new Semaphore(1);
    expect(s.tryTake()).toBe(true); // first holder
    const order: string[] = [];
    const waiting = s.take().then(() => order.push('second'));
    s.resize(2);
    await waiting;
    expect(order).toEqual(['second']);
    expect(s.permits).toBe(2);

    s.resize(1);
    expect(s.available).toBe(-1);
    expect(s.tryTake()).toBe(false);
    s.give(); // the first holder
    expect(s.tryTake()).toBe(false); // still one held, against one permit
    s.give(); // the second
    expect(s.tryTake()).toBe(true);
    s.give();
    expect(s.available).toBe(1);
  });
});

describe('Semaphore take/give (the once-call path)', () => {
  it('tryTake takes a free permit, refuses when none is free or someone waits; give hands it to the first waiter', async () => {
    const s = new Semaphore(1);
    expect(s.tryTake()).toBe(true);
    expect(s.tryTake()).toBe(false);
    const order: string[] = [];
    const first = s.take().then(() => order.push('first'));
    const second = s.take().then(() => order.push('second'));
    s.give();
    await first;
    expect(order).toEqual(['first']);
    expect(s.tryTake()).toBe(false); // 'second' still waits: no jumping the queue
    s.give();
    await second;
    s.give();
    expect(s.available).toBe(1);
  });

  it('take rejects with the signal reason when it aborts while waiting, and leaves the queue', async () => {
    const s = new Semaphore(1);
    s.tryTake();
    const controller = new AbortController();
    const waiting = s.take(controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    s.give();
    expect(s.tryTake()).toBe(true);
  });
});
