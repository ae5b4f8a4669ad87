/**
 * `aiges check` as a real child process: the report on stdout, exit 0 / 1 / 2, `--json`, and the
 * stable codes of the errors that stop a check before any sample runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { notCamelCase } from './json-case.js';
import { ROOT, runToExit } from './serve-process.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'plugins');
const SAMPLES = join(FIXTURES, 'check', 'samples.toml');
const tmp = mkdtempSync(join(tmpdir(), 'aiges-check-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function config(name: string, body: string): string {
  const file = join(tmp, `${name}.toml`);
  writeFileSync(file, body);
  return file;
}

const faulty = (fault: string) =>
  config(fault, `[plugin]\npath = ${JSON.stringify(join(FIXTURES, 'check', 'faulty.ts'))}\n[wrapper]\nfault = "${fault}"\n`);

describe('aiges check', () => {
  it('prints PASS per sample and exits 0 when every sample passes', async () => {
    const r = await runToExit(['check', faulty('none'), '--samples', SAMPLES]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^checking faulty \(ts, .*faulty\.ts\) with 3 sample\(s\) from .*samples\.toml$/);
    expect(lines.slice(1, 4).map((l) => l.replace(/, \d+ ms\)/, ')'))).toEqual([
      'PASS  shout once (once)',
      'PASS  shout in frames (session)',
      'PASS  repeat out of range (once)',
    ]);
    expect(lines[4]).toBe('3 passed, 0 failed');
  });

  it('prints FAIL with the reason and exits 1 on a mismatch', async () => {
    const r = await runToExit(['check', faulty('wrong-type'), '--samples', SAMPLES]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}shout once \(once, \d+ ms\): output "text" has type audio, the schema declares text$/m);
    expect(r.stdout).toContain('\n1 passed, 2 failed\n');
  });

  it('--json prints the whole report as one JSON document', async () => {
    const r = await runToExit(['check', faulty('undeclared-key'), '--samples', SAMPLES, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ ok: false, service: 'faulty', passed: 1, failed: 2 });
    expect(notCamelCase(report)).toEqual([]);
    expect(report.results[0]).toMatchObject({
      name: 'shout once',
      ok: false,
      reason: 'error 10203: plugin produced undeclared output key "extra"',
    });
  });

  it('exits 2 with E_CHECK_LOAD when the plugin fails init', async () => {
    const file = config('throws-init', `[plugin]\npath = ${JSON.stringify(join(FIXTURES, 'throws-init.ts'))}\n`);
    const r = await runToExit(['check', file, '--samples', SAMPLES, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^aiges check: \[E_CHECK_LOAD\] plugin failed to load \(10901\): .*model file missing: \/nowhere\/model\.bin/);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'E_CHECK_LOAD' } });
  });

  it('exits 2 with E_CHECK_LOAD on an invalid config, naming the key', async () => {
    const file = config('bad-config', `[plugin]\npath = ${JSON.stringify(join(FIXTURES, 'check', 'faulty.ts'))}\n[limits]\ncapacty = 3\n`);
    const r = await runToExit(['check', file, '--samples', SAMPLES]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^aiges check: \[E_CHECK_LOAD\] invalid configuration:[\s\S]*unknown config key "limits\.capacty"/);
  });

  it('exits 2 with E_CHECK_SAMPLES on a malformed samples file, before loading the plugin', async () => {
    const samples = config('bad-samples', '[[sample]]\nname = "x"\nmode = "stream"\ninput.text = { text = "a" }\n');
    const r = await runToExit(['check', join(FIXTURES, 'throws-init.ts'), '--samples', samples]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^aiges check: \[E_CHECK_SAMPLES\] .*bad-samples\.toml: sample\[0\]\.mode: Invalid option/);
  });

  it('exits 2 with E_CHECK_TARGET for a path that does not exist', async () => {
    const r = await runToExit(['check', join(tmp, 'nowhere')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^aiges check: \[E_CHECK_TARGET\] .*nowhere does not exist/);
  });
});
