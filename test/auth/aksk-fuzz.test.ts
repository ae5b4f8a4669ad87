/**
 * Fuzzing the AK/SK checks (loader/auth/aksk.ts) with fast-check: arbitrary and almost-valid
 * authorization, date, host and x-ark-content-sha256 values end in one of the documented outcomes
 * (a caller, or a refusal with 10206, 10207 or 10208), never a throw of anything else; and a
 * valid request with any one character of what it signs changed is refused. A failing property
 * prints its seed and the shrunk counterexample (fast-check's report).
 */
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AkSkAuth, parseAuthorization, type Presented } from '../../loader/auth/aksk.js';
import { KeysFile } from '../../loader/auth/keys.js';
import { Codes } from '../../loader/errors.js';
import { AuthCounts } from '../../loader/metrics.js';
import { newSecret, signHeaders, type TestKey, writeKeysFile } from '../server/auth-helpers.js';
import { FUZZ_RUNS } from '../lib/fuzz.js';

const limited: TestKey = { access_key: 'limited', secret_key: newSecret(), services: ['echo'], rate: 1, burst: 1 };
const free: TestKey = { access_key: 'free', secret_key: newSecret() };
const silent = pino({ level: 'silent' });
const NOW = Date.parse('Tue, 15 Nov 2022 08:12:31 GMT');
const REFUSALS: ReadonlySet<number> = new Set([Codes.UNAUTHENTICATED, Codes.PERMISSION_DENIED, Codes.RATE_LIMITED]);

function makeAuth(): AkSkAuth {
  return new AkSkAuth(
    { clock_skew_s: 300, replay_cache_max: 1_000_000 },
    new KeysFile(writeKeysFile([limited, free]), silent),
    silent,
    new AuthCounts(),
  );
}

/** What a call of `f` ended in: 'ok', or the refusal's code; anything else thrown fails the property. */
function outcome(f: () => unknown): 'ok' | number {
  try {
    f();
    return 'ok';
  } catch (err) {
    const code = (err as { aigesCode?: unknown }).aigesCode;
    if (typeof code === 'number' && REFUSALS.has(code)) return code;
    throw err;
  }
}

/** A request signed with `key` at NOW (unique by `path`). */
function signed(key: TestKey, method: string, path: string, host: string, body: string): Presented {
  const h = signHeaders({ key, method, path, host, body, date: new Date(NOW) });
  return { method, pathAndQuery: path, host, authorization: h.authorization, date: h.date, contentSha256: h['x-ark-content-sha256'] };
}

const base64Char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=');
const optional = (arb: fc.Arbitrary<string>) => fc.option(arb, { nil: undefined });

/** Authorization values: anything, and the documented form with each part fuzzed. */
const authorization = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 600 }),
  fc
    .record({
      scheme: fc.constantFrom('HMAC-SHA256', 'HMAC-SHA1', 'hmac-sha256', ''),
      key: fc.oneof(fc.constantFrom('free', 'limited', 'nobody'), fc.string({ maxLength: 140 })),
      headers: fc.constantFrom('date;host;x-ark-content-sha256', 'host;date;x-ark-content-sha256', ''),
      signature: fc.oneof(fc.string({ unit: base64Char, minLength: 40, maxLength: 48 }), fc.string()),
      sep: fc.constantFrom('&', '&&', ',', ' '),
    })
    .map((p) => `${p.scheme} Credential=${p.key}${p.sep}SignedHeaders=${p.headers}${p.sep}Signature=${p.signature}`),
);

/** Date values: anything, and RFC 1123 shapes with out-of-range parts. */
const date = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  fc
    .tuple(
      fc.constantFrom('Mon', 'Tue', 'Sun', 'Xyz'),
      fc.integer({ min: 0, max: 99 }),
      fc.constantFrom('Jan', 'Nov', 'Feb', 'Abc'),
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
    )
    .map(([w, d, m, y, hh, mm, ss]) => {
      const two = (n: number) => String(n).padStart(2, '0');
      return `${w}, ${two(d)} ${m} ${String(y).padStart(4, '0')} ${two(hh)}:${two(mm)}:${two(ss)} GMT`;
    }),
);

describe('AK/SK under fuzzing', () => {
  it('parseAuthorization returns a credential or a reason for any string', () => {
    fc.assert(
      fc.property(authorization, (value) => {
        const parsed = parseAuthorization(value);
        if (typeof parsed !== 'string') {
          expect(parsed.signature).toHaveLength(32);
          expect(parsed.accessKey.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: FUZZ_RUNS * 4 },
    );
  });

  it('any presented headers end in a caller or a documented refusal, never another throw', () => {
    const auth = makeAuth();
    fc.assert(
      fc.property(
        fc.record({
          method: fc.constantFrom('GET', 'POST', 'post', ''),
          pathAndQuery: fc.string({ maxLength: 80 }),
          host: optional(fc.string({ maxLength: 80 })),
          authorization: optional(authorization),
          date: optional(date),
          contentSha256: optional(fc.string({ maxLength: 60 })),
        }),
        fc.string({ maxLength: 60 }),
        fc.string({ maxLength: 20 }),
        (p: Presented, bodyHash, service) => {
          let caller: ReturnType<AkSkAuth['authenticate']> | undefined;
          const first = outcome(() => (caller = auth.authenticate(p, NOW)));
          if (first !== 'ok') return;
          // Only a signature made with a configured secret gets here: fuzzing alone must not.
          expect(caller).toBeDefined();
          outcome(() => caller?.checkBody(bodyHash));
          outcome(() => caller?.authorize(service));
        },
      ),
      { numRuns: FUZZ_RUNS * 4 },
    );
  });

  it('a signed request takes any path, host and body, and is refused with any one signed character changed', () => {
    const auth = makeAuth();
    let seq = 0;
    const fields = ['method', 'pathAndQuery', 'host', 'authorization', 'date', 'contentSha256'] as const;
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 200 }),
        fc.constantFrom(...fields),
        fc.nat(),
        fc.oneof(base64Char, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
        (path, host, body, field, at, char) => {
          // A fresh path each run: the unmutated request is never a replay of an earlier run's.
          const p = signed(free, 'POST', `/fuzz/${++seq}?p=${path}`, host, body);
          const value = p[field] as string;
          const i = at % value.length;
          fc.pre(value[i] !== char);
          const mutated = { ...p, [field]: value.slice(0, i) + char + value.slice(i + 1) };
          expect(outcome(() => auth.authenticate(mutated, NOW))).toBe(Codes.UNAUTHENTICATED);
          const caller = auth.authenticate(p, NOW);
          expect(outcome(() => caller.checkBody(p.contentSha256 as string))).toBe('ok');
        },
      ),
      { numRuns: FUZZ_RUNS * 4 },
    );
  });

  it('a signed request is refused with any one character of its signature changed', () => {
    const auth = makeAuth();
    let seq = 0;
    fc.assert(
      fc.property(fc.nat({ max: 43 }), base64Char, (i, char) => {
        const p = signed(free, 'GET', `/sig/${++seq}`, 'h', '');
        const value = p.authorization as string;
        const at = value.indexOf('&Signature=') + '&Signature='.length + i;
        fc.pre(value[at] !== char);
        const mutated = { ...p, authorization: value.slice(0, at) + char + value.slice(at + 1) };
        expect(outcome(() => auth.authenticate(mutated, NOW))).toBe(Codes.UNAUTHENTICATED);
      }),
      { numRuns: FUZZ_RUNS * 4 },
    );
  });
});
