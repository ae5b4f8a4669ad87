import { describe, expect, it } from 'vitest';
import { ExecSlots, type SlotWaiter } from '../../loader/plugin/exec-slots.js';

function waiter(name: string, order: string[]): SlotWaiter {
  return { granted: () => order.push(name) };
}

describe('ExecSlots', () => {
  it('tryTake takes a free slot, refuses when none is free or someone waits; give serves waiters in order', () => {
    const s = new ExecSlots(1);
    const order: string[] = [];
    expect(s.tryTake()).toBe(true);
    expect(s.tryTake()).toBe(false);
    s.wait(waiter('first', order));
    s.wait(waiter('second', order));
    expect(s.waiting).toBe(2);
    s.give();
    expect(order).toEqual(['first']);
    expect(s.tryTake()).toBe(false); // 'second' still waits: no jumping the queue
    s.give();
    expect(order).toEqual(['first', 'second']);
    s.give();
    expect(s.available).toBe(1);
  });

  it('a withdrawn waiter leaves the queue and is never granted', () => {
    const s = new ExecSlots(1);
    const order: string[] = [];
    s.tryTake();
    const gone = waiter('gone', order);
    s.wait(gone);
    s.wait(waiter('next', order));
    expect(s.withdraw(gone)).toBe(true);
    expect(s.withdraw(gone)).toBe(false);
    s.give();
    expect(order).toEqual(['next']);
  });

  it('a grow serves waiters at once; a shrink takes no slot back and applies as holders give back', () => {
    const s = new ExecSlots(1);
    const order: string[] = [];
    expect(s.tryTake()).toBe(true);
    s.wait(waiter('second', order));
    s.resize(2);
    expect(order).toEqual(['second']);
    expect(s.slots).toBe(2);

    s.resize(1);
    expect(s.available).toBe(-1);
    expect(s.tryTake()).toBe(false);
    s.give(); // the first holder
    expect(s.tryTake()).toBe(false); // still one held, against one slot
    s.give(); // the second
    expect(s.tryTake()).toBe(true);
    s.give();
    expect(s.available).toBe(1);
  });
});
