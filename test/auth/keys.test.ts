/** The keys file: checked whole, errors that never quote it, and reloads when it changes. */
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { KeysFile, readKeysFile } from '../../loader/auth/keys.js';
import { newSecret, writeKeysFile } from '../server/auth-helpers.js';

const secret = newSecret();

function errorOf(text: string): string {
  const path = writeKeysFile([]);
  writeFileSync(path, text);
  try {
    readKeysFile(path);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the file was taken');
}

describe('readKeysFile', () => {
  it('reads keys with their services and rate limits', () => {
    const keys = readKeysFile(writeKeysFile([{ access_key: 'a', secret_key: secret, services: ['echo'], rate: 5, burst: 10 }]));
    const a = keys.get('a');
    expect(a?.services).toEqual(new Set(['echo']));
    expect(a?.bucket?.rate).toBe(5);
    expect(a?.bucket?.burst).toBe(10);
    expect(a?.secret.export()).toEqual(Buffer.from(secret, 'base64'));
  });

  it.each([
    ['broken TOML', `[[keys]]\naccess_key = "a"\nsecret_key = "${secret}`, /not valid TOML \(line 3, column \d+\)$/],
    ['a secret that is not base64', `[[keys]]\naccess_key = "a"\nsecret_key = "${secret}!"`, /keys\[0\]\.secret_key: must be base64/],
    ['a short secret', `[[keys]]\naccess_key = "a"\nsecret_key = "${secret.slice(0, 12)}"`, /at least 16 bytes/],
    ['an access key with "&"', `[[keys]]\naccess_key = "a&b"\nsecret_key = "${secret}"`, /keys\[0\]\.access_key/],
    [
      'an unknown key',
      `[[keys]]\naccess_key = "a"\nsecret_key = "${secret}"\nsecret = "${secret}"`,
      /unknown key\(s\) secret at keys\[0\]/,
    ],
    ['burst without rate', `[[keys]]\naccess_key = "a"\nsecret_key = "${secret}"\nburst = 2`, /burst needs rate/],
    [
      'a key given twice',
      `[[keys]]\naccess_key = "a"\nsecret_key = "${secret}"\n[[keys]]\naccess_key = "a"\nsecret_key = "${secret}"`,
      /keys\[1\]\.access_key is given twice/,
    ],
  ])('refuses %s, without quoting the file', (_name, text, message) => {
    const error = errorOf(text);
    expect(error).toMatch(message);
    expect(error).not.toContain(secret.slice(0, 12));
  });
});

describe('KeysFile', () => {
  it('takes a changed file within the poll interval, and keeps the keys in force when the new file is bad', async () => {
    const path = writeKeysFile([{ access_key: 'old', secret_key: secret }]);
    const lines: string[] = [];
    const keys = new KeysFile(path, pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }));
    keys.watch(20);
    try {
      writeKeysFile([{ access_key: 'new', secret_key: secret }], path);
      await vi.waitFor(() => expect(keys.get('new')).toBeDefined());
      expect(keys.get('old')).toBeUndefined();

      writeFileSync(path, `[[keys]]\naccess_key = "broken"\nsecret_key = "${secret}`);
      await vi.waitFor(() => expect(lines.join('')).toContain('keys file not reloaded'));
      expect(keys.get('new')).toBeDefined();
      expect(lines.join('')).not.toContain(secret);
    } finally {
      keys.close();
    }
  });
});
