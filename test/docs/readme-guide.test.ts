/**
 * The README's "write your first plugin" guide, run as written: its wrapper and check blocks are
 * written into a folder of this checkout, served by the real CLI, and called with the README's
 * `aiges call` lines (on a free port instead of 5091).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runToExit, startServe } from '../cli/serve-process.js';

const run = promisify(execFile);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

function block(marker: string): string {
  const m = new RegExp(`<!-- guide:${marker} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (m?.[1] === undefined) throw new Error(`README has no guide:${marker} block`);
  return m[1];
}

/** The README's `npx aiges call 127.0.0.1:5091 upper ...` lines. */
function callLines(): string[][] {
  return [...readme.matchAll(/^npx aiges call 127\.0\.0\.1:5091 (upper .*?)\s+#/gm)].map((m) => (m[1] as string).split(/\s+/));
}

// Inside the checkout, so that 'aiges-ts' resolves to this package as the guide says.
const dir = join(ROOT, 'test', `.guide-${process.pid}`, 'upper');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'wrapper.ts'), block('wrapper'));
writeFileSync(join(dir, 'check.ts'), block('check'));

afterAll(() => rmSync(join(ROOT, 'test', `.guide-${process.pid}`), { recursive: true, force: true }));

describe('README: write your first plugin', () => {
  it('serves the guide plugin and the call lines answer as the comments say', async () => {
    const serve = await startServe([dir]);
    try {
      const lines = callLines();
      expect(lines).toHaveLength(2);
      const ok = await runToExit(['call', `127.0.0.1:${serve.grpcPort}`, ...(lines[0] as string[])]);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout).items[0].text).toBe('HELLOHELLO');
      const bad = await runToExit(['call', `127.0.0.1:${serve.grpcPort}`, ...(lines[1] as string[])]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('error 10107');
    } finally {
      serve.proc.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('the in-process check prints HIHIHI', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(dir, 'check.ts')], { cwd: ROOT });
    expect(stdout.trim()).toBe('HIHIHI');
  });
});
