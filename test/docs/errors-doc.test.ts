/** docs/errors.md lists every code of the catalog with the catalog's own gRPC and HTTP mapping. */
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Codes, grpcStatusOf, httpStatusOf } from '../../loader/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map([...doc.matchAll(/^\| (\d{5}) \| (\w+) \| (\w+) \| (\d{3}) \|/gm)].map((m) => [Number(m[1]), m.slice(2, 5)]));

describe('docs/errors.md', () => {
  it.each(Object.entries(Codes))('documents %s', (name, code) => {
    expect(rows.get(code)).toEqual([name, status[grpcStatusOf(code)], String(httpStatusOf(code))]);
  });
  it('documents no code the catalog lacks', () => {
    expect([...rows.keys()].sort()).toEqual(Object.values(Codes).map(Number).sort());
  });
});
