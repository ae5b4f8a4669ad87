import { describe, expect, it, vi } from 'vitest';
import { Admission } from '../../loader/dataplane/admission.js';
import { Codes, isRetryable } from '../../loader/errors.js';

describe('Admission', () => {
  it('counts once calls and sessions together against one capacity', () => {
    const a = new Admission(3);
    a.take('once');
    a.take('session');
    expect(a.onceCalls).toBe(1);
    expect(a.sessions).toBe(1);
    expect(a.inUse).toBe(2);
    expect(a.load).toBeCloseTo(2 / 3);
    a.take('session');
    expect(a.inUse).toBe(3);
    expect(a.load).toBe(1);
    a.give('once');
    a.give('session');
    a.give('session');
    expect(a.inUse).toBe(0);
    expect(a.load).toBe(0);
  });

  it('refuses at capacity with 10110 (retryable elsewhere) and admits again after a give', () => {
    const a = new Admission(2);
    a.take('once');
    a.take('session');
    for (const kind of ['once', 'session'] as const) {
      expect(() => a.take(kind)).toThrow(expect.objectContaining({ aigesCode: Codes.CAPACITY }));
    }
    expect(() => a.take('once')).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/capacity of 2/), detail: { capacity: 2 } }),
    );
    expect(isRetryable(Codes.CAPACITY)).toBe(true);
    // A refused call takes nothing.
    expect(a.inUse).toBe(2);
    a.give('once');
    a.take('once');
    expect(a.onceCalls).toBe(1);
  });

  it('after stopAccepting refuses every call with 10101, while held slots still release', () => {
    const a = new Admission(4);
    a.take('once');
    a.stopAccepting();
    expect(a.accepting).toBe(false);
    expect(() => a.take('once')).toThrow(expect.objectContaining({ aigesCode: Codes.INSTANCE_INACTIVE }));
    expect(() => a.take('session')).toThrow(expect.objectContaining({ aigesCode: Codes.INSTANCE_INACTIVE }));
    expect(a.inUse).toBe(1);
    a.give('once');
    expect(a.inUse).toBe(0);
  });

  it('draining wins over capacity: a full, draining loader answers 10101 (not retry-elsewhere-later 10110)', () => {
    const a = new Admission(1);
    a.take('once');
    a.stopAccepting();
    expect(() => a.take('once')).toThrow(expect.objectContaining({ aigesCode: Codes.INSTANCE_INACTIVE }));
  });

  it('idle() resolves true at once when nothing is admitted', async () => {
    await expect(new Admission(1).idle(0)).resolves.toBe(true);
  });

  it('idle() resolves true when the last slot is released', async () => {
    const a = new Admission(3);
    a.take('once');
    a.take('session');
    let settled: boolean | undefined;
    const idle = a.idle(60_000).then((v) => (settled = v));
    a.give('once');
    await Promise.resolve();
    expect(settled).toBeUndefined(); // one still held
    a.give('session');
    await expect(idle).resolves.toBe(true);
  });

  it('idle() resolves false when the timeout passes first', async () => {
    vi.useFakeTimers();
    try {
      const a = new Admission(1);
      a.take('session');
      const idle = a.idle(500);
      await vi.advanceTimersByTimeAsync(499);
      let settled: boolean | undefined;
      void idle.then((v) => (settled = v));
      await Promise.resolve();
      expect(settled).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await expect(idle).resolves.toBe(false);
      // A later give does not throw or flip the answer.
      a.give('session');
      await expect(idle).resolves.toBe(false);
      expect(a.inUse).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('onChange fires on every take and give (not on a refusal), and unsubscribes', () => {
    const a = new Admission(2);
    const seen: number[] = [];
    const off = a.onChange(() => seen.push(a.inUse));
    a.take('session');
    a.take('once');
    expect(() => a.take('once')).toThrow(); // a refusal changes nothing
    a.give('once');
    a.give('session');
    expect(seen).toEqual([1, 2, 1, 0]);
    off();
    a.take('once');
    expect(seen).toEqual([1, 2, 1, 0]);
  });
});

describe('Admission capacity changes (hot config)', () => {
  it('a drop refuses new calls until enough admitted ones end, and cancels none; a raise admits at once', () => {
    const a = new Admission(3);
    a.take('once');
    a.take('session');
    a.take('once');
    let notified = 0;
    a.onChange(() => notified++);
    a.setCapacity(1);
    a.setCapacity(1);
    expect(notified).toBe(1); // load reports ride on onChange
    expect(a.inUse).toBe(3);
    expect(a.load).toBe(3);
    a.give('once');
    a.give('session');
    expect(() => a.take('once')).toThrow(expect.objectContaining({ aigesCode: Codes.CAPACITY }));
    a.give('once');
    a.take('once');
    a.setCapacity(2);
    a.take('session');
    expect(a.inUse).toBe(2);
    expect(() => a.setCapacity(0)).toThrow(RangeError);
  });
});
