/**
 * docs/v2.md "Through `aiges lb`": its shell block runs as written against a real etcd — the loader
 * and the balancer started by its first two lines, then docs/examples/v2-grpc-client.ts, whose output
 * must be the block's commented lines. Only the etcd endpoint and the balancer's port are changed
 * (a test etcd, a free port).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cli/serve-process.js';
import { TestEtcd } from '../polaris/etcd.js';

const doc = readFileSync(join(ROOT, 'docs/v2.md'), 'utf8');
const section = doc.slice(doc.indexOf('\n## Through `aiges lb`\n'));
const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

const children: ChildProcess[] = [];
let etcd: TestEtcd | undefined;
afterAll(async () => {
  // Each line runs in a process group of its own (npx, then node): end the whole group.
  for (const c of children) if (c.pid !== undefined) process.kill(-c.pid, 'SIGTERM');
  await etcd?.stop();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts a background line of the block; resolves once its output has a line matching `ready`. */
function background(line: string, ready: RegExp): Promise<void> {
  const child = spawn('sh', ['-c', line], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const look = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) resolve();
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', (code) => reject(new Error(`"${line}" ended (${code}) before it was ready:\n${out}`)));
  });
}

describe('docs/v2.md, through aiges lb', () => {
  it('runs its shell block as written: the example client prints what the block says', async () => {
    etcd = await TestEtcd.start();
    const port = await freePort();
    const lines = block
      .replaceAll('http://127.0.0.1:2379', etcd.endpoint)
      .replaceAll('127.0.0.1:5080', `127.0.0.1:${port}`)
      .split('\n')
      .filter((l) => l.trim() !== '');
    const commands = lines.filter((l) => !l.startsWith('#'));
    const expected = lines.filter((l) => l.startsWith('# ')).map((l) => l.slice(2));
    expect(commands).toHaveLength(3);
    expect(commands.slice(0, 2).every((c) => c.endsWith(' &'))).toBe(true);

    await background((commands[0] as string).slice(0, -2), /registered in polaris/);
    await background((commands[1] as string).slice(0, -2), /instance admitted/);
    const { stdout } = await promisify(execFile)('sh', ['-c', commands[2] as string], { cwd: ROOT, timeout: 60_000 });
    expect(stdout.trim().split('\n')).toEqual(expected);
  }, 90_000);
});
