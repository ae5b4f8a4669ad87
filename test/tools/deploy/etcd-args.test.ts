/**
 * The rendered etcd StatefulSet's args form a 3-member cluster: three local etcd processes started
 * with them, each with its pod name for $(POD_NAME) and loopback ports for the members' DNS names
 * (`etcd-<i>.etcd`, which only a cluster resolves), all report healthy — which etcd does only once
 * the members have found each other and elected a leader. Integration tier: Debian's etcd-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../polaris/etcd.js';
import { find, type RenderedFleet, renderTestFleet } from './fleet.js';

let fleet: RenderedFleet;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  fleet = await renderTestFleet();
}, 60_000);

/** Kills the members still running and waits for them to exit. */
const stopAll = () =>
  Promise.all(
    procs
      .filter((p) => p.exitCode === null && p.signalCode === null)
      .map((p) => {
        p.kill('SIGKILL');
        return once(p, 'exit');
      }),
  );

afterAll(async () => {
  await stopAll();
  rmSync(fleet.dir, { recursive: true, force: true });
});

/** Polls a member's /health until it says true (etcd has no readiness event to wait on). */
async function healthy(url: string, proc: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited: ${stderr()}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`etcd at ${url} never became healthy: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the rendered etcd args', () => {
  it('form a healthy 3-member cluster', async () => {
    const sts = find(fleet.objects, 'StatefulSet', 'etcd')['spec'] as {
      replicas: number;
      template: { spec: { containers: { command: string[]; args: string[] }[] } };
    };
    const [container] = sts.template.spec.containers;
    expect(container?.command).toEqual(['etcd']);
    const ports = await Promise.all(Array.from({ length: sts.replicas * 2 }, () => freePort()));
    const client = (i: number) => ports[2 * i] as number;
    const peer = (i: number) => ports[2 * i + 1] as number;
    const members = Array.from({ length: sts.replicas }, (_, i) => i);
    const dataDir = mkdtempSync(join(tmpdir(), 'aiges-etcd-k8s-'));
    try {
      const started = members.map((i) => {
        let args = (container?.args ?? []).join('\n').replaceAll('$(POD_NAME)', `etcd-${i}`);
        for (const j of members) {
          args = args.replaceAll(`etcd-${j}.etcd:2380`, `127.0.0.1:${peer(j)}`).replaceAll(`etcd-${j}.etcd:2379`, `127.0.0.1:${client(j)}`);
        }
        args = args.replace('0.0.0.0:2379', `127.0.0.1:${client(i)}`).replace('0.0.0.0:2380', `127.0.0.1:${peer(i)}`);
        args = args.replace(/^--data-dir=.*$/m, `--data-dir=${join(dataDir, String(i))}`);
        expect(args).not.toMatch(/etcd-\d\.etcd|0\.0\.0\.0|\$\(/);
        const proc = spawn('etcd', args.split('\n'), { stdio: ['ignore', 'ignore', 'pipe'] });
        procs.push(proc);
        let stderr = '';
        proc.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
        return { proc, stderr: () => stderr };
      });
      await Promise.all(members.map((i) => healthy(`http://127.0.0.1:${client(i)}`, started[i]!.proc, started[i]!.stderr)));
    } finally {
      await stopAll();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
