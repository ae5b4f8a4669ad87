/** The token bucket of a key's rate limit. */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../loader/auth/rate.js';

describe('TokenBucket', () => {
  it('lets a burst through, then one call per 1/rate seconds', () => {
    const bucket = new TokenBucket(2, 3);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.waitS()).toBeCloseTo(0.5);
    expect(bucket.take(400)).toBe(false);
    expect(bucket.take(500)).toBe(true);
    // Idle time refills up to the burst, never past it.
    expect([bucket.take(60_000), bucket.take(60_000), bucket.take(60_000), bucket.take(60_000)]).toEqual([true, true, true, false]);
  });
});
