/**
 * `aiges check` in-process (runCheck) against a real plugin loaded through the loader's registry
 * and data plane: a correct plugin passes, and each way of breaking the contract fails its samples
 * with the reason a plugin author needs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../../loader/tools/check/check.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/plugins/check/', import.meta.url));
const SAMPLES = join(FIXTURES, 'samples.toml');
const tmp = mkdtempSync(join(tmpdir(), 'aiges-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An aiges.toml serving the faulty fixture with the given fault. */
function configWith(fault: string): string {
  const file = join(tmp, `${fault}.toml`);
  writeFileSync(file, `[plugin]\npath = ${JSON.stringify(join(FIXTURES, 'faulty.ts'))}\n\n[wrapper]\nfault = "${fault}"\n`);
  return file;
}

async function check(fault: string) {
  const report = await runCheck({ target: configWith(fault), samples: SAMPLES, env: {} });
  return { report, reasons: Object.fromEntries(report.results.map((r) => [r.name, r.reason])) };
}

describe('aiges check on a plugin', () => {
  it('passes a correct plugin: once, session and an expected error', async () => {
    const { report } = await check('none');
    expect(report).toMatchObject({ ok: true, service: 'faulty', kind: 'ts', passed: 3, failed: 0 });
    expect(report.results.map((r) => [r.name, r.mode, r.ok])).toEqual([
      ['shout once', 'once', true],
      ['shout in frames', 'session', true],
      ['repeat out of range', 'once', true],
    ]);
    expect(report.results[0]?.outputs).toEqual([[{ key: 'text', type: 0, status: 3, bytes: 4, text: 'HIHI' }]]);
    // 15 bytes in 3-byte frames: one result per frame.
    expect(report.results[1]?.outputs).toHaveLength(5);
  });

  it('fails an undeclared output key', async () => {
    const { report, reasons } = await check('undeclared-key');
    expect(report.ok).toBe(false);
    expect(reasons['shout once']).toBe('error 10203: plugin produced undeclared output key "extra"');
    expect(reasons['shout in frames']).toBe('error 10203: plugin produced undeclared output key "extra"');
    // Input validation happens before the plugin runs: the expected error still passes.
    expect(reasons['repeat out of range']).toBeUndefined();
  });

  it('fails an output of the wrong type', async () => {
    const { reasons } = await check('wrong-type');
    expect(reasons['shout once']).toBe('output "text" has type audio, the schema declares text');
    expect(reasons['shout in frames']).toBe('output "text" has type audio, the schema declares text');
  });

  it('fails a response without a final status', async () => {
    const { reasons } = await check('no-final-status');
    expect(reasons['shout once']).toBe('no final status: once output "text" has status CONTINUE (expected ONCE or END)');
    expect(reasons['shout in frames']).toMatch(/^no final status: the session's results did not end within 1000 ms/);
  });

  it('fails a plugin that throws, with its message', async () => {
    const { reasons } = await check('throws');
    expect(reasons['shout once']).toMatch(/^error 10909: .*model exploded/);
    expect(reasons['shout in frames']).toMatch(/^error 10907: .*model exploded/);
  });

  it('fails an output that differs from the expectation, and a missing expected error', async () => {
    const samples = join(tmp, 'wrong-expect.toml');
    writeFileSync(
      samples,
      [
        '[[sample]]\nname = "wrong text"\ninput.text = { text = "ab" }\nexpect.output.text = "ab"',
        '[[sample]]\nname = "no error"\ninput.text = { text = "ab" }\nexpect.error = 10107',
        '[[sample]]\nname = "missing key"\nmode = "session"\ninput.text = { text = "ab" }\nexpect.stream.other = "x"',
      ].join('\n\n'),
    );
    const report = await runCheck({ target: configWith('none'), samples, env: {} });
    expect(report.results.map((r) => r.reason)).toEqual([
      'output "text" is "AB", expected "ab"',
      'succeeded, expected error 10107',
      'stream "other" is missing, expected "x"',
    ]);
  });
});
