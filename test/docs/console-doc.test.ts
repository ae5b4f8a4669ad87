/**
 * docs/console.md: its shell blocks run as written against a real etcd — a loader and the console
 * started by the first, the API calls of the second answering what the text after them says — and
 * its flags table names exactly the flags `aiges console` has. Only the etcd endpoint, the ports
 * and the temp folder are changed (a test etcd, free ports, a folder of the test's own).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../loader/cli/program.js';
import { ROOT } from '../cli/serve-process.js';
import { freePort, TestEtcd } from '../polaris/etcd.js';
import { background, stopAll } from './background.js';

const doc = readFileSync(join(ROOT, 'docs/console.md'), 'utf8');
const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const dir = mkdtempSync(join(tmpdir(), 'aiges-console-doc-'));
const sh = (script: string) => promisify(execFile)('sh', ['-c', script], { cwd: ROOT, timeout: 60_000 });

let etcd: TestEtcd | undefined;
afterAll(async () => {
  stopAll();
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('docs/console.md', () => {
  it('runs its blocks as written: the console lists the loader, a push applies, a bad version is refused at its line', async () => {
    etcd = await TestEtcd.start();
    const port = await freePort();
    const local = (block: string) =>
      block
        .replaceAll('http://127.0.0.1:2379', etcd?.endpoint ?? '')
        .replaceAll('127.0.0.1:8090', `127.0.0.1:${port}`)
        .replaceAll('/tmp/aiges-console', dir)
        .replace('--grpc-port 5091 --http-port 8081', '--grpc-port 0 --http-port 0')
        .split('\n')
        .filter((l) => l.trim() !== '');
    expect(blocks).toHaveLength(2);
    const [serve, tokens, console] = local(blocks[0] as string) as [string, string, string];
    expect([serve, console].every((l) => l.endsWith(' &'))).toBe(true);
    await background(serve.slice(0, -2), /registered in polaris/);
    await sh(tokens);
    await background(console.slice(0, -2), /console listening/);

    const [token, ...calls] = local(blocks[1] as string);
    expect(calls).toHaveLength(3);
    const answers = await Promise.all(calls.map(async (call) => JSON.parse((await sh(`${token}\n${call}`)).stdout)));
    const [fleet, pushed, refused] = answers as [
      { instances: { service: string; state: string; load: object }[] },
      { version: { state: string }; instances: { result: string }[] },
      { code: string; line: number; message: string },
    ];
    expect(fleet.instances).toHaveLength(1);
    expect(fleet.instances[0]).toMatchObject({ service: 'echo', state: 'ready' });
    expect(pushed.version.state).toBe('good');
    expect(pushed.instances.map((i) => i.result)).toEqual(['applied']);
    expect(refused).toMatchObject({ code: 'CONSOLE_INVALID_CONFIG', line: 2 });
    expect(refused.message).toContain('limits.capacity');
  }, 90_000);

  it('its flags table names every flag of aiges console, and only those', () => {
    const table = doc.slice(doc.indexOf('\n## Flags\n'), doc.indexOf('\n**Locked-down polaris**'));
    const documented = [...table.matchAll(/^\| `(--[a-z-]+)/gm), ...table.matchAll(/`, `(--[a-z-]+)`/g)].map((m) => m[1]).sort();
    const command = buildProgram().commands.find((c) => c.name() === 'console');
    const flags = (command?.options ?? []).map((o) => o.long).sort();
    expect(documented).toEqual(flags);
  });
});
