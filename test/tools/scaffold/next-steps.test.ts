/**
 * `aiges new`'s printed next steps, run as printed in a project outside the aiges-ts checkout
 * (issue 13, friction 4): offline, so a `npx aiges` that is not linked to this install fails
 * instead of asking the registry. The last step (`npx aiges serve .`) runs on free ports until ready.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { installRoot } from '../../../loader/lib/install-root.js';
import { ROOT, runToExit } from '../../cli/serve-process.js';

const run = promisify(execFile);
const parent = realpathSync(mkdtempSync(join(tmpdir(), 'aiges-next-steps-')));
afterAll(() => rmSync(parent, { recursive: true, force: true }));
/** npm and npx with no network: a package they would fetch is an error, not a download. */
const offline = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' };

/** Runs `command` in a shell until it logs "ready" (then stops its whole process group). */
async function serveUntilReady(command: string, cwd: string): Promise<void> {
  const proc = spawn('sh', ['-c', command], { cwd, env: offline, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const seen = (chunk: Buffer) => {
        out += chunk.toString();
        if (/"msg":"ready"/.test(out)) resolve();
      };
      proc.stdout.on('data', seen);
      proc.stderr.on('data', seen);
      proc.on('exit', (code) => reject(new Error(`"${command}" exited ${code} before ready:\n${out}`)));
    });
  } finally {
    if (proc.pid !== undefined && proc.exitCode === null) process.kill(-proc.pid, 'SIGTERM');
  }
}

describe.each(['ts', 'cpp'])('aiges new --lang %s --dir <outside the checkout>', (lang) => {
  it('prints next steps that run as printed', { timeout: 300_000 }, async () => {
    expect(relative(ROOT, parent).startsWith('..')).toBe(true);
    const made = await runToExit(['new', `next-${lang}`, '--lang', lang, '--dir', parent]);
    expect(made.code, made.stderr).toBe(0);
    const next = /^next: (.*)$/m.exec(made.stdout)?.[1];
    expect(next).toBeDefined();
    const steps = (next as string).split(' && ');
    const serve = steps.pop() as string;
    expect(serve).toBe('npx aiges serve .');
    // The printed `cd` is relative to where `aiges new` ran (the checkout, runToExit's cwd).
    const { stdout } = await run('sh', ['-c', steps.join(' && ')], { cwd: ROOT, env: offline, maxBuffer: 1 << 24 });
    expect(stdout).toMatch(/\d+ passed, 0 failed/);
    await serveUntilReady(`${serve} --host 127.0.0.1 --grpc-port 0 --http-port 0`, join(parent, `next-${lang}`));
  });
});

describe('a scaffolded project after npm install --offline', () => {
  it('keeps npx aiges linked to this install', { timeout: 300_000 }, async () => {
    const dir = join(parent, 'next-cpp');
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env: offline });
    expect(realpathSync(join(dir, 'node_modules', 'aiges-ts'))).toBe(installRoot().dir);
    const { stdout } = await run('npx', ['aiges', '--version'], { cwd: dir, env: offline });
    const { stdout: ours } = await run(process.execPath, [join(ROOT, 'dist', 'loader', 'cli', 'main.js'), '--version']);
    expect(stdout).toBe(ours);
  });
});
