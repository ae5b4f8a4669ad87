/**
 * An `aiges` process whose stdout nobody reads any more (the pipe's reader gone: a log shipper that
 * died, a test that ended) still stops on SIGTERM. With sonic-boom 4 (pino's destination), a log
 * line that met EPIPE at exit was retried forever: `aiges lb` then never exited (package.json
 * overrides it to 5, which gives up).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { freePort } from '../polaris/etcd.js';
import { CLI, ROOT } from './serve-process.js';

/** Starts `aiges <args>`, waits for the log line `ready`, closes its stdout's reader, sends SIGTERM; resolves with how it exited. */
async function stopWithStdoutClosed(args: string[], ready: string): Promise<{ code: number | null; signal: string | null }> {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(proc, 'exit') as Promise<[number | null, string | null]>;
  try {
    const lines = createInterface({ input: proc.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => line.includes(`"msg":"${ready}"`) && resolve());
      void exited.then(([code]) => reject(new Error(`aiges ${args[0]} exited (${code}) before "${ready}"`)));
    });
    lines.close();
    proc.stdout!.destroy(); // the pipe has no reader now: the next write fails with EPIPE
    proc.kill('SIGTERM');
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`aiges ${args[0]} still running 15 s after SIGTERM`)), 15_000),
    );
    const [code, signal] = await Promise.race([exited, timeout]);
    return { code, signal };
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

describe('aiges with nobody reading its stdout', () => {
  it('aiges lb stops on SIGTERM and exits 0', async () => {
    // An etcd that is not there (a free port): the balancer starts without it.
    const etcd = `http://127.0.0.1:${await freePort()}`;
    const exit = await stopWithStdoutClosed(['lb', '--etcd', etcd, '--service', 'echo', '--listen', '127.0.0.1:0'], 'balancer listening');
    expect(exit).toMatchObject({ code: 0, signal: null });
  }, 30_000);

  it('aiges serve stops on SIGTERM and exits 0', async () => {
    const exit = await stopWithStdoutClosed(['serve', 'demo/echo', '--grpc-port', '0', '--http-port', '0'], 'ready');
    expect(exit).toMatchObject({ code: 0, signal: null });
  }, 30_000);
});
