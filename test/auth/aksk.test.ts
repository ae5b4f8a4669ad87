/**
 * The AK/SK checks without a server: the clock-skew window's edges, the replay bound, and which
 * refusals spend a key's tokens. Requests are signed by the test's own signer.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AkSkAuth, parseAuthorization, type Presented } from '../../loader/auth/aksk.js';
import { KeysFile } from '../../loader/auth/keys.js';
import { Codes } from '../../loader/errors.js';
import { AuthCounts } from '../../loader/metrics.js';
import { newSecret, signHeaders, type TestKey, writeKeysFile } from '../server/auth-helpers.js';

const alice: TestKey = { access_key: 'alice', secret_key: newSecret(), rate: 1, burst: 1 };
const free: TestKey = { access_key: 'free', secret_key: newSecret() };
const silent = pino({ level: 'silent' });
const T0 = Date.parse('Tue, 15 Nov 2022 08:12:31 GMT');

function makeAuth(settings: { clock_skew_s?: number; replay_cache_max?: number } = {}) {
  const counts = new AuthCounts();
  const auth = new AkSkAuth(
    { clock_skew_s: settings.clock_skew_s ?? 300, replay_cache_max: settings.replay_cache_max ?? 100 },
    new KeysFile(writeKeysFile([alice, free]), silent),
    silent,
    counts,
  );
  return { auth, counts };
}

function presented(key: TestKey, path: string, date: Date): Presented {
  const h = signHeaders({ key, method: 'GET', path, host: 'h', date });
  return {
    method: 'GET',
    pathAndQuery: path,
    host: 'h',
    authorization: h.authorization,
    date: h.date,
    contentSha256: h['x-ark-content-sha256'],
  };
}

const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (err) {
    return (err as { aigesCode?: number }).aigesCode;
  }
  return undefined;
};

describe('AkSkAuth', () => {
  it('takes dates up to clock_skew_s away on either side, not one second more', () => {
    const { auth } = makeAuth({ clock_skew_s: 60 });
    expect(codeOf(() => auth.authenticate(presented(free, '/a', new Date(T0 - 60_000)), T0))).toBeUndefined();
    expect(codeOf(() => auth.authenticate(presented(free, '/b', new Date(T0 + 60_000)), T0))).toBeUndefined();
    expect(codeOf(() => auth.authenticate(presented(free, '/c', new Date(T0 - 61_000)), T0))).toBe(Codes.UNAUTHENTICATED);
    expect(codeOf(() => auth.authenticate(presented(free, '/d', new Date(T0 + 61_000)), T0))).toBe(Codes.UNAUTHENTICATED);
  });

  it('spends no token on a refused signature or a replay', () => {
    const { auth, counts } = makeAuth();
    const good = presented(alice, '/x', new Date(T0));
    const forged = presented({ ...alice, secret_key: newSecret() }, '/y', new Date(T0));
    expect(codeOf(() => auth.authenticate(forged, T0))).toBe(Codes.UNAUTHENTICATED);
    auth.authenticate(good, T0).checkBody(good.contentSha256 as string);
    expect(codeOf(() => auth.authenticate(good, T0 + 5_000))).toBe(Codes.UNAUTHENTICATED);
    // A second later the bucket (1/s) has a token again: nothing above took it.
    expect(codeOf(() => auth.authenticate(presented(alice, '/z', new Date(T0 + 1_000)), T0 + 1_000))).toBeUndefined();
    expect(Object.fromEntries([...counts.entries()].map(([k, v]) => [k, Object.fromEntries(v)]))).toEqual({
      alice: { unauthenticated: 2, ok: 1 },
    });
  });

  it('refuses with 10208 while the replay cache is full, and takes requests again as entries age out', () => {
    const { auth } = makeAuth({ clock_skew_s: 10, replay_cache_max: 2 });
    auth.authenticate(presented(free, '/1', new Date(T0)), T0);
    auth.authenticate(presented(free, '/2', new Date(T0)), T0);
    expect(codeOf(() => auth.authenticate(presented(free, '/3', new Date(T0)), T0))).toBe(Codes.RATE_LIMITED);
    expect(codeOf(() => auth.authenticate(presented(free, '/4', new Date(T0 + 11_000)), T0 + 11_000))).toBeUndefined();
    expect(auth.remembered).toBe(1);
  });

  it('refuses a signature whose last character differs only in the bits base64 decoding drops', () => {
    const { auth } = makeAuth();
    const good = presented(free, '/bits', new Date(T0));
    const header = good.authorization as string;
    // The 43rd character keeps 4 bits of the digest: the next character in the alphabet decodes
    // to the same 32 bytes whenever the right one's 2 dropped bits are 0 (always, when canonical).
    const last = header.length - 2;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sibling = alphabet[alphabet.indexOf(header[last] as string) + 1] as string;
    const reworded = `${header.slice(0, last)}${sibling}=`;
    expect(Buffer.from(reworded.slice(-44), 'base64')).toEqual(Buffer.from(header.slice(-44), 'base64'));
    expect(codeOf(() => auth.authenticate({ ...good, authorization: reworded }, T0))).toBe(Codes.UNAUTHENTICATED);
    expect(codeOf(() => auth.authenticate(good, T0))).toBeUndefined();
  });

  it('counts unknown access keys under one label', () => {
    const { auth, counts } = makeAuth();
    for (const name of ['x1', 'x2', 'x3'])
      codeOf(() => auth.authenticate(presented({ access_key: name, secret_key: newSecret() }, '/', new Date(T0)), T0));
    expect([...counts.entries()].map(([k]) => k)).toEqual(['_unknown']);
  });
});

describe('parseAuthorization', () => {
  const signature = Buffer.alloc(32, 7).toString('base64');
  const good = `HMAC-SHA256 Credential=ak&SignedHeaders=date;host;x-ark-content-sha256&Signature=${signature}`;

  it('reads the three fields', () => {
    expect(parseAuthorization(good)).toEqual({ accessKey: 'ak', signature });
  });

  it.each([
    ['another scheme', good.replace('HMAC-SHA256', 'HMAC-SHA1')],
    ['a field twice', `${good}&Credential=b`],
    ['a field without =', good.replace('&SignedHeaders=', '&SignedHeaders')],
    ['other signed headers', good.replace('date;host;', 'host;date;')],
    ['a short signature', good.replace(signature, 'AAAA')],
    ['a very long value', `${good}${'A'.repeat(600)}`],
    ['nothing after the scheme', 'HMAC-SHA256 '],
  ])('refuses %s', (_name, value) => {
    expect(typeof parseAuthorization(value)).toBe('string');
  });
});
