/**
 * docs/security.md's "Polaris locked down" shell blocks run as written against a real etcd (the
 * test's instead of the default, `node dist/…` for `npx aiges`, free ports for the loader and the
 * balancer): the set-up secures etcd and issues a loader's user, the loader and the balancer run
 * on their users, the operator's block lists the loader, makes a key and reads the config status.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../cli/serve-process.js';
import { TestEtcd } from '../polaris/etcd.js';
import { stopGroupAndWait } from './background.js';

const run = promisify(execFile);
const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
const section = doc.slice(doc.indexOf('\n## Polaris locked down\n'));
const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const dir = mkdtempSync(join(tmpdir(), 'aiges-lockdown-doc-'));

let etcd: TestEtcd;
let env: NodeJS.ProcessEnv;
/** The doc's block, on this checkout's CLI and the test's etcd. */
const local = (block: string) =>
  block
    .replaceAll('npx aiges', `node ${CLI}`)
    .replaceAll('http://127.0.0.1:2379', etcd.endpoint)
    .replace('serve demo/echo', `serve ${join(ROOT, 'demo/echo')} --host 127.0.0.1 --grpc-port 0 --http-port 0`)
    .replace('--listen 127.0.0.1:5080', '--listen 127.0.0.1:0');

beforeAll(async () => {
  etcd = await TestEtcd.start();
  env = { ...process.env, AIGES_POLARIS_ENDPOINTS: etcd.endpoint };
}, 30_000);
afterAll(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('docs/security.md, Polaris locked down', () => {
  it('has the set-up, the fleet and the operator blocks', () => {
    expect(blocks).toHaveLength(3);
  });

  it('runs them as written: the fleet runs on its users, the operator sees it', async () => {
    await run('sh', ['-c', local(blocks[0] as string)], { cwd: dir, env });
    for (const file of ['root.password', 'creds/aiges-operator.password', 'creds/aiges-balancer.password', 'echo-0.password']) {
      expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    }
    // The fleet block backgrounds a loader and a balancer: one process group, stopped together.
    const fleet = spawn('sh', ['-c', `${local(blocks[1] as string)}wait\n`], {
      cwd: dir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs: string[] = [];
    const lines = createInterface({ input: fleet.stdout! });
    lines.on('line', (line) => logs.push(line));
    const seen = (msg: string) =>
      new Promise<void>((resolve) => {
        const match = (line: string) => line.includes(`"msg":"${msg}"`);
        if (logs.some(match)) resolve();
        lines.on('line', (line) => match(line) && resolve());
      });
    try {
      await Promise.all([seen('registered in polaris'), seen('instance admitted')]);
      const { stdout } = await run('sh', ['-c', local(blocks[2] as string)], { cwd: dir, env });
      expect(stdout).toMatch(/^echo +1 +echo-0 /m);
      expect(stdout).toMatch(/^secret key +\S+$/m);
      expect(stdout).toContain('echo: current config version none');
    } finally {
      await stopGroupAndWait(fleet.pid!);
    }
  }, 45_000);
});
