/**
 * `aiges serve --etcd`: the same flag as lb, config and services, setting `[polaris] endpoints`
 * with a flag's precedence (over the config file and AIGES_POLARIS_ENDPOINTS). Integration tier:
 * a real etcd, `aiges serve` and `aiges services ls` as child processes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestEtcd } from '../polaris/etcd.js';
import { ROOT, runToExit, startServe } from './serve-process.js';

let etcd: TestEtcd;
const dir = mkdtempSync(join(tmpdir(), 'aiges-serve-etcd-'));

beforeAll(async () => {
  etcd = await TestEtcd.start();
});

afterAll(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('aiges serve --etcd', () => {
  it('registers in that etcd, over the config file and the environment', async () => {
    // Both would point the loader at nothing listening: only --etcd gets it registered.
    const config = join(dir, 'aiges.toml');
    writeFileSync(config, '[polaris]\nendpoints = ["http://127.0.0.1:1"]\n');
    const serve = await startServe(['demo/echo', '--config', config, '--etcd', etcd.endpoint, '--set', 'polaris.instance_id=via-flag'], {
      AIGES_POLARIS_ENDPOINTS: 'http://127.0.0.1:2',
    });
    try {
      await serve.waitForLog('registered in polaris');
      const ls = await runToExit(['services', 'ls', 'echo', '--etcd', etcd.endpoint, '--json']);
      expect(ls.code, ls.stderr).toBe(0);
      expect((JSON.parse(ls.stdout) as { id: string }[]).map((r) => r.id)).toEqual(['via-flag']);
    } finally {
      serve.proc.kill('SIGTERM');
      await serve.exited;
    }
  });

  it("README's fleet block: its serve lines register with --etcd, its services ls lists them", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const fleet = readme.slice(readme.indexOf('\n## Run a fleet (polaris)\n'));
    const serveLines = [...fleet.matchAll(/^npx aiges serve (.*) &$/gm)].map((m) => m[1] as string);
    expect(serveLines).toHaveLength(2);
    const serves = await Promise.all(
      serveLines.map((line) =>
        // Free ports instead of the README's (startServe adds its own), the test's etcd instead of :2379.
        startServe(
          line
            .replace(/ --grpc-port \d+ --http-port \d+/, '')
            .replace('http://127.0.0.1:2379', etcd.endpoint)
            .split(' '),
        ),
      ),
    );
    try {
      await Promise.all(serves.map((s) => s.waitForLog('registered in polaris')));
      const ls = /^npx aiges (services ls)\s/m.exec(fleet)?.[1] ?? '';
      // The README's line names no etcd: the default, or $AIGES_POLARIS_ENDPOINTS as here.
      const listed = await runToExit([...ls.split(' '), '--json'], { AIGES_POLARIS_ENDPOINTS: etcd.endpoint });
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as { service: string }[]).map((r) => r.service)).toEqual(['echo', 'echo']);
    } finally {
      for (const s of serves) s.proc.kill('SIGTERM');
      await Promise.all(serves.map((s) => s.exited));
    }
  });
});
