/** The JSONL and CSV readers of `aiges batch` and `aiges eval` (loader/tools/records.ts). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatOf, idOf, readRecords, RecordError } from '../../loader/tools/records.js';

const dir = mkdtempSync(join(tmpdir(), 'aiges-records-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function all(path: string) {
  const out = [];
  for await (const r of readRecords(path)) out.push(r);
  return out;
}

describe('readRecords', () => {
  it('reads JSONL line by line, skipping blank lines, with line numbers', async () => {
    const path = file('a.jsonl', '{"id":1}\n\n{"id":"b","x":[1]}\r\n');
    expect(await all(path)).toEqual([
      { line: 1, value: { id: 1 } },
      { line: 3, value: { id: 'b', x: [1] } },
    ]);
  });

  it('names the line of a JSONL line that is not a JSON object', async () => {
    await expect(all(file('b.jsonl', '{"id":1}\n[1,2]\n'))).rejects.toEqual(new RecordError(2, 'not a JSON object'));
    await expect(all(file('c.jsonl', '{"id":1}\n{nope\n'))).rejects.toMatchObject({ line: 2 });
  });

  it('reads CSV by its header: a BOM, CRLF, quoted fields with commas, quotes and newlines', async () => {
    const path = file('d.csv', '\uFEFFid,label\r\n1,"a, b"\r\n2,"say ""hi"""\r\n3,"two\nlines"\r\n');
    expect((await all(path)).map((r) => r.value)).toEqual([
      { id: '1', label: 'a, b' },
      { id: '2', label: 'say "hi"' },
      { id: '3', label: 'two\nlines' },
    ]);
  });

  it('fails a CSV row with the wrong number of columns, naming its line', async () => {
    const err = await all(file('e.csv', 'id,label\n1,a\n2,b,c\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordError);
    expect((err as RecordError).line).toBe(3);
  });
});

describe('formatOf and idOf', () => {
  it('tells CSV by its extension; anything else is JSONL', () => {
    expect(formatOf('x/labels.CSV')).toBe('csv');
    expect(formatOf('x/labels.jsonl')).toBe('jsonl');
    expect(formatOf('x/labels.ndjson')).toBe('jsonl');
  });

  it('takes a non-empty string or a finite number as an id', () => {
    expect(idOf({ id: 7 })).toBe('7');
    expect(idOf({ id: 'a' })).toBe('a');
    expect(idOf({ id: '' })).toBeUndefined();
    expect(idOf({ id: null })).toBeUndefined();
    expect(idOf({})).toBeUndefined();
  });
});
