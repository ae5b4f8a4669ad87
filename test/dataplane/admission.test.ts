import { describe, expect, it, vi } from 'vitest';
import { Admission } from '../../loader/dataplane/admission.js';
import { Codes, isRetryable } from '../../loader/errors.js';

describe('Admission', () => {
  it('counts once calls and sessions together against one capacity', () => {
    const a = new Admission(3);
    const once = a.acquire('once');
    const s1 = a.acquire('session');
    expect(a.onceCalls).toBe(1);
    expect(a.sessions).toBe(1);
    expect(a.inUse).toBe(2);
    expect(a.load).toBeCloseTo(2 / 3);
    const s2 = a.acquire('session');
    expect(a.inUse).toBe(3);
    expect(a.load).toBe(1);
    once.release();
    s1.release();
    s2.release();
    expect(a.inUse).toBe(0);
    expect(a.load).toBe(0);
  });

  it('refuses at capacity with 10110 and admits again after a release', () => {
    const a = new Admission(2);
    const first = a.acquire('once');
    a.acquire('session');
    for (const kind of ['once', 'session'] as const) {
      expect(() => a.acquire(kind)).toThrow(expect.objectContaining({ aigesCode: Codes.CAPACITY }));
    }
    expect(() => a.acquire('once')).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/capacity of 2/), detail: { capacity: 2 } }),
    );
    expect(isRetryable(Codes.CAPACITY)).toBe(true);
    // A refused call takes nothing.
    expect(a.inUse).toBe(2);
    first.release();
    expect(a.acquire('once').kind).toBe('once');
  });

  it('release is idempotent', () => {
    const a = new Admission(2);
    const s = a.acquire('session');
    const o = a.acquire('once');
    s.release();
    s.release();
    s.release();
    expect(a.sessions).toBe(0);
    expect(a.onceCalls).toBe(1);
    expect(a.inUse).toBe(1);
    o.release();
    o.release();
    expect(a.inUse).toBe(0);
  });

  it('after stopAccepting refuses every call with 10101, while held slots still release', () => {
    const a = new Admission(4);
    const held = a.acquire('once');
    a.stopAccepting();
    expect(a.accepting).toBe(false);
    expect(() => a.acquire('once')).toThrow(expect.objectContaining({ aigesCode: Codes.INSTANCE_INACTIVE }));
    expect(() => a.acquire('session')).toThrow(expect.objectContaining({ aigesCode: Codes.INSTANCE_INACTIVE }));
    expect(a.inUse).toBe(1);
    held.release();
    expect(a.inUse).toBe(0);
  });

  it('draining wins over capacity: a full, draining loader answers 10101 (not retry-elsewhere-later 10110)', () => {
    const a = new Admission(1);
    a.acquire('once');
    a.stopAccepting();
    expect(() => a.acquire('once')).toThrow(expect.objectContaining({ aigesCode: Codes.INSTANCE_INACTIVE }));
  });

  it('idle() resolves true at once when nothing is admitted', async () => {
    await expect(new Admission(1).idle(0)).resolves.toBe(true);
  });

  it('idle() resolves true when the last slot is released', async () => {
    const a = new Admission(3);
    const s1 = a.acquire('once');
    const s2 = a.acquire('session');
    let settled: boolean | undefined;
    const idle = a.idle(60_000).then((v) => (settled = v));
    s1.release();
    await Promise.resolve();
    expect(settled).toBeUndefined(); // one still held
    s2.release();
    await expect(idle).resolves.toBe(true);
  });

  it('idle() resolves false when the timeout passes first', async () => {
    vi.useFakeTimers();
    try {
      const a = new Admission(1);
      const slot = a.acquire('session');
      const idle = a.idle(500);
      await vi.advanceTimersByTimeAsync(499);
      let settled: boolean | undefined;
      void idle.then((v) => (settled = v));
      await Promise.resolve();
      expect(settled).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await expect(idle).resolves.toBe(false);
      // A later release does not throw or flip the answer.
      slot.release();
      await expect(idle).resolves.toBe(false);
      expect(a.inUse).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('onChange fires on every acquire and release (not on a repeated release), and unsubscribes', () => {
    const a = new Admission(2);
    const seen: number[] = [];
    const off = a.onChange(() => seen.push(a.inUse));
    const s = a.acquire('session');
    const o = a.acquire('once');
    expect(() => a.acquire('once')).toThrow(); // a refusal changes nothing
    o.release();
    o.release();
    s.release();
    expect(seen).toEqual([1, 2, 1, 0]);
    off();
    a.acquire('once');
    expect(seen).toEqual([1, 2, 1, 0]);
  });
});

describe('Admission capacity changes (hot config)', () => {
  it('a drop refuses new calls until enough admitted ones end, and cancels none; a raise admits at once', () => {
    const a = new Admission(3);
    const held = [a.acquire('once'), a.acquire('session'), a.acquire('once')];
    let notified = 0;
    a.onChange(() => notified++);
    a.setCapacity(1);
    a.setCapacity(1);
    expect(notified).toBe(1); // load reports ride on onChange
    expect(a.inUse).toBe(3);
    expect(a.load).toBe(3);
    held[0]!.release();
    held[1]!.release();
    expect(() => a.acquire('once')).toThrow(expect.objectContaining({ aigesCode: Codes.CAPACITY }));
    held[2]!.release();
    const next = a.acquire('once');
    a.setCapacity(2);
    expect(a.acquire('session').kind).toBe('session');
    next.release();
    expect(() => a.setCapacity(0)).toThrow(RangeError);
  });
});
