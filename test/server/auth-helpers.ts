/**
 * Shared helpers of the AK/SK tests: a keys file in a temporary folder, and a signer written
 * here from the issue's formula with node:crypto alone (not the implementation's), so that a
 * signature the loader takes is one a client following the docs would make.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestKey {
  access_key: string;
  secret_key: string;
  services?: string[];
  rate?: number;
  burst?: number;
  /** A balancer's key (relays calls of other keys). */
  relay?: boolean;
}

export const newSecret = (): string => randomBytes(32).toString('base64');

/** Writes `[[keys]]` tables to a fresh keys.toml; returns its path. */
export function writeKeysFile(keys: TestKey[], path = join(mkdtempSync(join(tmpdir(), 'aiges-auth-')), 'keys.toml')): string {
  const tables = keys.map((k) => {
    const lines = [`access_key = "${k.access_key}"`, `secret_key = "${k.secret_key}"`];
    if (k.services !== undefined) lines.push(`services = [${k.services.map((s) => `"${s}"`).join(', ')}]`);
    if (k.rate !== undefined) lines.push(`rate = ${k.rate}`);
    if (k.burst !== undefined) lines.push(`burst = ${k.burst}`);
    if (k.relay !== undefined) lines.push(`relay = ${k.relay}`);
    return `[[keys]]\n${lines.join('\n')}\n`;
  });
  writeFileSync(path, tables.join('\n'), { mode: 0o600 });
  return path;
}

export interface SignInput {
  key: TestKey;
  method: string;
  /** Path and query as sent. */
  path: string;
  host: string;
  body?: Buffer | string;
  /** Default: now. */
  date?: Date;
}

/** The three headers, computed literally: string-to-sign = VERB\npath-and-query\ndate;host;content-hash. */
export function signHeaders(input: SignInput): { date: string; 'x-ark-content-sha256': string; authorization: string } {
  const date = (input.date ?? new Date()).toUTCString();
  const hash = createHash('sha256')
    .update(input.body ?? '')
    .digest('base64');
  const toSign = `${input.method}\n${input.path}\n${date};${input.host};${hash}`;
  const signature = createHmac('sha256', Buffer.from(input.key.secret_key, 'base64')).update(toSign).digest('base64');
  return {
    date,
    'x-ark-content-sha256': hash,
    authorization: `HMAC-SHA256 Credential=${input.key.access_key}&SignedHeaders=date;host;x-ark-content-sha256&Signature=${signature}`,
  };
}
