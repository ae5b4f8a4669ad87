/**
 * The README's "Start a plugin project" block, run as written: each line in order in one shell
 * (with /tmp swapped for a fresh temp folder), except that the served loader gets free ports in
 * place of 5091/8081 and the call waits for it to be ready (the block's `&` leaves that to the reader).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, startServe } from '../../cli/serve-process.js';

const run = promisify(execFile);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const block = /<!-- guide:start -->\n```sh\n([\s\S]*?)```/.exec(readme)?.[1];
if (block === undefined) throw new Error('README has no guide:start block');
const lines = block.trim().split('\n');
const tmp = mkdtempSync(join(tmpdir(), 'aiges-readme-start-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const at = (prefix: string) => {
  const i = lines.findIndex((l) => l.startsWith(prefix));
  if (i < 0) throw new Error(`README block has no line starting "${prefix}"`);
  return i;
};

describe('README: start a plugin project', () => {
  it('scaffolds, tests, checks, serves and answers the call as the comment says', { timeout: 120_000 }, async () => {
    const serveLine = at('npx aiges serve . ');
    const callLine = lines[at('npx aiges call ')] as string;
    expect(lines.at(-1)).toBe('kill %1');
    const script = lines.slice(0, serveLine).join('\n').replaceAll('/tmp', tmp);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT });
    expect(stdout).toMatch(/^# pass 4$/m);
    expect(stdout).toContain('4 passed, 0 failed');

    const project = join(tmp, 'word-count');
    const serve = await startServe([project]);
    try {
      const call = callLine.replace(/\s+#.*$/, '').replace('127.0.0.1:5091', `127.0.0.1:${serve.grpcPort}`);
      const { stdout: answer } = await run('bash', ['-c', call], { cwd: project });
      expect(JSON.parse(answer).items[0]).toMatchObject({ key: 'count', text: '3' });
      expect(callLine).toMatch(/# → count "3"$/);
    } finally {
      serve.proc.kill('SIGTERM');
      await serve.exited;
    }
  });
});
