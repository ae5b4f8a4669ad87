/** The replay cache: each key once while remembered, forgotten by second, bounded. */
import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../loader/auth/replay.js';

describe('ReplayCache', () => {
  it('takes a key once until its second has passed', () => {
    const cache = new ReplayCache(10, 1000);
    expect(cache.remember('a', 1005, 1000)).toBe('fresh');
    expect(cache.remember('a', 1005, 1003)).toBe('replay');
    expect(cache.remember('a', 1005, 1005)).toBe('replay');
    expect(cache.remember('b', 1010, 1006)).toBe('fresh');
    expect(cache.size).toBe(1);
    expect(cache.remember('a', 1011, 1006)).toBe('fresh');
  });

  it('refuses new keys when full, and takes them again once old ones age out', () => {
    const cache = new ReplayCache(2, 0);
    expect(cache.remember('a', 5, 0)).toBe('fresh');
    expect(cache.remember('b', 9, 0)).toBe('fresh');
    expect(cache.remember('c', 9, 1)).toBe('full');
    expect(cache.remember('a', 5, 1)).toBe('replay');
    expect(cache.remember('c', 9, 6)).toBe('fresh');
    expect(cache.size).toBe(2);
  });

  it('forgets everything after a long idle time without walking every second', () => {
    const cache = new ReplayCache(10, 0);
    cache.remember('a', 10, 0);
    const t0 = performance.now();
    expect(cache.remember('b', 1e9 + 5, 1e9)).toBe('fresh');
    expect(performance.now() - t0).toBeLessThan(50);
    expect(cache.size).toBe(1);
  });
});
