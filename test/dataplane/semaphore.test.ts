import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../loader/dataplane/semaphore.js';

describe('Semaphore resize (hot config)', () => {
  it('a grow wakes waiters at once; a shrink takes no permit back and applies as holders release', async () => {
    const s = new Semaphore(1);
    const first = s.tryAcquire()!;
    const order: string[] = [];
    const waiting = s.acquire().then((release) => (order.push('second'), release));
    s.resize(2);
    const second = await waiting;
    expect(order).toEqual(['second']);
    expect(s.permits).toBe(2);

    s.resize(1);
    expect(s.available).toBe(-1);
    expect(s.tryAcquire()).toBeNull();
    first();
    expect(s.tryAcquire()).toBeNull(); // still one held, against one permit
    second();
    const third = s.tryAcquire();
    expect(third).not.toBeNull();
    third!();
    expect(s.available).toBe(1);
  });
});
