/**
 * The loader config blocks of README.md (the full reference) and docs/plugins.md (`[pipes]`) are
 * valid configs as written: each is written to a file and loaded with the loader's own schema.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../loader/config/load.js';

function tomlBlock(file: string, firstLine: RegExp): string {
  const blocks = [...readFileSync(file, 'utf8').matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const block = blocks.find((b) => firstLine.test(b.split('\n')[0] ?? ''));
  if (block === undefined) throw new Error(`${file} has no toml block starting with ${firstLine}`);
  return block;
}

function load(toml: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'aiges-doc-config-')), 'aiges.toml');
  writeFileSync(file, toml);
  return loadConfig({ file });
}

describe('config blocks of the docs', () => {
  it('README.md: the full config reference loads', () => {
    const config = load(tomlBlock('README.md', /^\[server\]/));
    expect(config.auth.mode).toBe('none');
    expect(config.pipes).toEqual({});
  });

  it('docs/plugins.md: the [pipes] block loads, every key set', () => {
    const config = load(tomlBlock('docs/plugins.md', /^\[pipes\]/));
    expect(config.pipes).toEqual({
      access_key: 'pipeline',
      secret_key_file: '/run/secrets/pipeline',
      ca_file: 'ca.pem',
      cert_file: 'client.pem',
      key_file: 'client.key',
    });
  });
});
