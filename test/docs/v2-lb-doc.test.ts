/**
 * docs/v2.md "Through `aiges lb`": its shell block runs as written against a real etcd — the loader
 * and the balancer started by its first two lines, then docs/examples/v2-grpc-client.ts, whose output
 * must be the block's commented lines. Only the etcd endpoint and the balancer's port are changed
 * (a test etcd, a free port).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cli/serve-process.js';
import { background, stopAllAndWait } from './background.js';
import { TestEtcd } from '../polaris/etcd.js';

const doc = readFileSync(join(ROOT, 'docs/v2.md'), 'utf8');
const section = doc.slice(doc.indexOf('\n## Through `aiges lb`\n'));
const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

let etcd: TestEtcd | undefined;
afterAll(async () => {
  await stopAllAndWait();
  await etcd?.stop();
}, 30_000);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
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
