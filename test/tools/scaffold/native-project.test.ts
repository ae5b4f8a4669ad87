/**
 * `aiges new --lang cpp|cuda`, used as the project's README says with no edits: its test.sh
 * builds the library with cmake (nvcc when present, else the CPU path) and checks it through the
 * loader in both modes; `aiges serve` then serves it to a real gRPC call.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { scaffold } from '../../../loader/tools/scaffold/scaffold.js';
import { runToExit, startServe } from '../../cli/serve-process.js';

const run = promisify(execFile);
const parent = mkdtempSync(join(tmpdir(), 'aiges-native-scaffold-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

for (const tool of ['cmake', 'g++']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`]);
  } catch {
    throw new Error(`${tool} is missing: apt-get install -y cmake g++ (.ci/run installs them)`);
  }
}

describe.each(['cpp', 'cuda'])('aiges new --lang %s', (lang) => {
  const name = `count-${lang}`;
  const dir = join(parent, name);

  it('builds and passes aiges check with ./test.sh (once and session)', { timeout: 300_000 }, async () => {
    scaffold({ name, lang, parent });
    const { stdout } = await run(join(dir, 'test.sh'), [], { cwd: dir });
    expect(stdout).toMatch(/^checking .* with 3 sample\(s\) from samples\/requests\.toml$/m);
    expect(stdout).toContain('3 passed, 0 failed');
    expect(stdout).toMatch(/^PASS {2}stream the file in 5-byte frames \(session, /m);
    expect(stdout).toContain('1 passed, 0 failed');
  });

  it('is served by aiges serve (once mode) and answers a call, saying where it counted', async () => {
    const serve = await startServe(['--config', join(dir, 'aiges.toml')]);
    try {
      const r = await runToExit(['call', `127.0.0.1:${serve.grpcPort}`, name, '--text', 'text=hello native world']);
      expect(r.code).toBe(0);
      const [out] = JSON.parse(r.stdout).items;
      expect(out).toMatchObject({ key: 'count', text: '3' });
      expect(['cpu', 'gpu']).toContain(out.attributes.device);
    } finally {
      serve.proc.kill('SIGTERM');
      await serve.exited;
    }
  });
});
