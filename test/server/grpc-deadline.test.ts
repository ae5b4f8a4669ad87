/**
 * gRPC deadlines longer than grpc-js's server keeps right (about 24.8 days: it holds the
 * milliseconds in a 32-bit int): such a call runs under a deadline far away, not one already past
 * or wrapped to a shorter one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer } from '../../loader/tools/client.js';
import { clampTimeoutHeader, MAX_GRPC_TIMEOUT_MS } from '../../loader/server/grpc-timeout.js';
import { FIXTURES, serve, textItem, type Served } from './grpc-helpers.js';

const DAY = 86_400_000;

describe('clampTimeoutHeader', () => {
  it.each([
    ['2592000S', '2147483S'], // 30 days: past the int32 limit
    ['99999999H', '2147483S'],
    ['2147483S', '2147483S'],
    ['596H', '596H'], // 24.8 days less a few minutes: kept
    ['100m', '100m'],
    ['5000000000n', '5000000000n'], // not grpc-js's form (over 8 digits): left for grpc-js to refuse
  ])('%s → %s', (value, expected) => {
    const headers: Record<string, string> = { 'grpc-timeout': value };
    clampTimeoutHeader(headers);
    expect(headers['grpc-timeout']).toBe(expected);
  });
});

describe('a call with a deadline of weeks', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({ plugin: { path: `${FIXTURES}/deadline.ts` } });
  });
  afterAll(async () => {
    await served.close();
  });

  // 30 days: grpc-js's server read it as negative and failed the call at once; 60 days: it
  // wrapped to about 10 days.
  it.each([30, 60])('%i days: answered, under a deadline at least 24.8 days away', async (days) => {
    const before = Date.now();
    const res = await infer(served.client, { service: 'deadline', items: [textItem('x')] }, days * DAY);
    const deadline = Number(res.items[0]?.data.toString());
    expect(deadline).toBeGreaterThanOrEqual(before + MAX_GRPC_TIMEOUT_MS - 1_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + days * DAY);
  });

  it('a deadline of a minute is kept as it is', async () => {
    const before = Date.now();
    const res = await infer(served.client, { service: 'deadline', items: [textItem('x')] }, 60_000);
    const deadline = Number(res.items[0]?.data.toString());
    expect(deadline).toBeGreaterThan(before + 59_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 60_000);
  });
});
