/**
 * A real etcd for tests: Debian's etcd-server started on free loopback ports with a temp data dir,
 * stopped (and restartable, same data) on demand. Fails with the install command when etcd is
 * missing — tests never skip silently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_INSTALL = 'apt-get install -y etcd-server';

function etcdBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (found === '') throw new Error(`etcd is not installed: run \`${ETCD_INSTALL}\``);
  return found;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class TestEtcd {
  #proc: ChildProcess | undefined;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'aiges-etcd-'));

  private constructor(
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  static async start(): Promise<TestEtcd> {
    const etcd = new TestEtcd(await freePort(), await freePort());
    await etcd.resume();
    return etcd;
  }

  /**
   * Starts (or restarts, keeping its data) the etcd process and waits until it serves.
   * NOTE: while etcd is down, a client dialling 127.0.0.1:<its port> can be given that very port
   * as its own source port (a TCP self-connect: the port is in the ephemeral range) and hold it
   * until its next retry; a bind refused that way is tried again until the deadline.
   */
  async resume(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        return await this.#spawn(deadline);
      } catch (err) {
        this.#proc = undefined;
        if (!/address already in use/.test((err as Error).message) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async #spawn(deadline: number): Promise<void> {
    if (this.#proc !== undefined) return;
    const name = `test-${this.clientPort}`;
    const proc = spawn(
      etcdBinary(),
      [
        '--name',
        name,
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        this.endpoint,
        '--advertise-client-urls',
        this.endpoint,
        '--listen-peer-urls',
        `http://127.0.0.1:${this.peerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${this.peerPort}`,
        '--initial-cluster',
        `${name}=http://127.0.0.1:${this.peerPort}`,
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.#proc = proc;
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`etcd exited at start: ${stderr}`);
      try {
        const res = await fetch(`${this.endpoint}/health`);
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy: ${stderr}`);
      // NOTE: etcd has no readiness event to wait on; poll its health endpoint.
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills etcd (SIGKILL) and waits for it to exit; `resume()` brings it back with its data. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (proc === undefined) return;
    this.#proc = undefined;
    if (proc.exitCode === null) {
      proc.kill('SIGKILL');
      await once(proc, 'exit');
    }
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
