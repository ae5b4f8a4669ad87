/**
 * The loader's HMAC (loader/auth/digest.ts): the native one (native/host/aksk_digest.cc, a key
 * prepared once) and the node:crypto one used without the addon give createHmac's digest for any
 * key and message, and the native exports refuse what is not theirs.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmac, KeyHmac } from '../../loader/auth/digest.js';

const native = hmac();

describe('KeyHmac', () => {
  it('has the native HMAC (the addon is built)', () => {
    expect(native).toBeDefined();
  });

  it.each([
    ['native', native],
    ['node:crypto', undefined],
  ])('%s: gives createHmac-SHA256 for keys of any length and UTF-8 messages of any length', (_name, impl) => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 3000 }), (key, message) => {
        const expected = createHmac('sha256', key).update(message).digest();
        const h = new KeyHmac(createSecretKey(Buffer.from(key)), impl);
        expect(h.digest(message)).toEqual(expected);
        const out = Buffer.alloc(40, 0xee);
        h.digestInto(message, out);
        expect(out.subarray(0, 32)).toEqual(expected);
        expect(out.subarray(32)).toEqual(Buffer.alloc(8, 0xee));
      }),
      { numRuns: 300 },
    );
  });

  it('computes messages around the native stack buffer (2048 bytes) whole', () => {
    const key = randomBytes(32);
    const h = new KeyHmac(createSecretKey(key));
    for (const n of [2046, 2047, 2048, 2049, 2050, 70_000]) {
      for (const message of ['a'.repeat(n), `${'a'.repeat(n - 1)}é`]) {
        expect(h.digest(message)).toEqual(createHmac('sha256', key).update(message).digest());
      }
    }
  });

  it('keeps the secret out of what it shows: logs and JSON see nothing', () => {
    const h = new KeyHmac(createSecretKey(Buffer.from('a secret of thirty-two bytes ok!')));
    expect(JSON.stringify(h)).toBe('{}');
    expect(Object.keys(h)).toEqual([]);
  });

  it('native: refuses wrong arguments and a prepared state it did not make', () => {
    const n = native as NonNullable<typeof native>;
    const prepared = n.prepare(randomBytes(32));
    const out = Buffer.alloc(32);
    expect(() => n.into(prepared, 'm', Buffer.alloc(31))).toThrow(TypeError);
    expect(() => n.into(Buffer.alloc(prepared.length), 'm', out)).toThrow(TypeError);
    expect(() => n.into(prepared.subarray(1), 'm', out)).toThrow(TypeError);
    expect(() => n.into(prepared, 42 as unknown as string, out)).toThrow(TypeError);
    expect(() => n.prepare('key' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
