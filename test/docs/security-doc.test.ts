/**
 * docs/security.md's AK/SK shell examples run as written: the first makes a secret and a keys file, a
 * real `aiges serve demo/echo` takes them (on a free port instead of 8080), and the openssl + curl
 * script signs a request the loader serves; a second run (a new nonce) is served too.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServe } from '../cli/serve-process.js';

const run = promisify(execFile);
const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
const akskStart = doc.indexOf('\n## AK/SK request signing\n');
const akskEnd = doc.indexOf('\n## ', akskStart + 1); // the section's blocks only, not the next section's
const aksk = doc.slice(akskStart, akskEnd === -1 ? undefined : akskEnd);
const blocks = [...aksk.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const dir = mkdtempSync(join(tmpdir(), 'aiges-security-doc-'));

let serve: Awaited<ReturnType<typeof startServe>>;
beforeAll(async () => {
  await run('sh', ['-c', blocks[0] as string], { cwd: dir });
  serve = await startServe(['demo/echo'], { AIGES_AUTH_MODE: 'aksk', AIGES_AUTH_KEYS_FILE: join(dir, 'keys.toml') });
}, 60_000);
afterAll(async () => {
  serve.proc.kill('SIGTERM');
  await serve.exited;
});

describe('docs/security.md', () => {
  it('has the set-up and the signing scripts in its AK/SK section', () => {
    expect(blocks).toHaveLength(2);
    expect(statSync(join(dir, 'keys.toml')).mode & 0o777).toBe(0o600);
  });

  it('signs a request with openssl and curl that the loader serves, twice', async () => {
    const script = (blocks[1] as string).replaceAll('localhost:8080', `127.0.0.1:${serve.httpPort}`);
    for (let i = 0; i < 2; i++) {
      const { stdout } = await run('sh', ['-c', script], { cwd: dir });
      const body = JSON.parse(stdout) as { header: { code: number }; payload: { text: { text: string } } };
      expect(body.header.code).toBe(0);
      expect(body.payload.text.text).toBe('aGVsbG8=');
    }
  });

  it('is refused without the signature', async () => {
    const { stdout } = await run('curl', ['-s', `http://127.0.0.1:${serve.httpPort}/v1/private/echo`, '-d', '{}']);
    expect(JSON.parse(stdout).header.code).toBe(10206);
  });
});
