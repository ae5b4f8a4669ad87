/**
 * docs/security.md's AK/SK shell examples run as written: the first makes a secret and a keys file, a
 * real `aiges serve demo/echo` takes them (on a free port instead of 8080), and the openssl + curl
 * script signs a request the loader serves; a second run (a new nonce) is served too. The
 * "Behind aiges lb" script makes a balancer key in a real etcd and starts `aiges lb` with it.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServe } from '../cli/serve-process.js';
import { stopGroupAndWait } from './background.js';
import { TestEtcd } from '../polaris/etcd.js';

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
  it('has the set-up, the signing and the balancer scripts in its AK/SK section', () => {
    expect(blocks).toHaveLength(3);
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

describe('docs/security.md, behind aiges lb', () => {
  it('makes a balancer key with aiges keys create --relay and starts aiges lb with it, checking at the edge', async () => {
    const etcd = await TestEtcd.start();
    // `aiges` on the PATH, as an installed aiges-ts puts it there.
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'aiges'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist/loader/cli/main.js')}" "$@"\n`);
    chmodSync(join(bin, 'aiges'), 0o755);
    const script = (blocks[2] as string)
      .replaceAll('http://127.0.0.1:2379', etcd.endpoint)
      .replace('--auth aksk', '--auth aksk --listen 127.0.0.1:0');
    // A group of its own: the script's shell and the `aiges lb` it starts end together (below).
    const lb = spawn('sh', ['-c', script], { cwd: dir, detached: true, env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` } });
    try {
      let out = '';
      let err = '';
      lb.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        lb.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split('\n').find((l) => l.includes('"balancer listening"'));
          if (line !== undefined) resolve(JSON.parse(line) as Record<string, unknown>);
        });
        lb.once('exit', (code) => reject(new Error(`the script ended (${code}) before the balancer listened: ${out}${err}`)));
      });
      expect(listening).toMatchObject({ auth: 'aksk', access_key: 'lb1' });
      const stored = JSON.parse(readFileSync(join(dir, 'lb1.json'), 'utf8')) as { accessKey: string; relay: boolean };
      expect(stored).toMatchObject({ accessKey: 'lb1', relay: true });
    } finally {
      if (lb.pid !== undefined) await stopGroupAndWait(lb.pid);
      await etcd.stop();
    }
  }, 60_000);
});
