/**
 * `aiges serve` as a real child process: startup failures exit non-zero with the plugin's error,
 * and SIGTERM drains in-flight calls before fini and a clean exit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { aigesCodeOf, createLoaderClient, infer, type LoaderClient } from '../../loader/tools/client.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { ROOT, runToExit, startServe, type CliProcess } from './serve-process.js';

const text = (s: string) => ({ key: 'text', type: 0 as const, status: 3 as const, data: Buffer.from(s) });
const running: CliProcess[] = [];
const clients: LoaderClient[] = [];
const npxs: ChildProcess[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
  for (const p of npxs.splice(0)) p.kill('SIGKILL');
});

describe('aiges serve lifecycle', () => {
  it('serves the echo demo and answers over gRPC', async () => {
    const serve = await startServe(['demo/echo']);
    running.push(serve);
    const client = createLoaderClient(`127.0.0.1:${serve.grpcPort}`);
    clients.push(client);
    const res = await infer(client, { service: 'echo', items: [text('hi')] });
    expect(res.items[0]?.data.toString()).toBe('hi');
    serve.proc.kill('SIGTERM');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM mid-call: the call completes, new calls are refused, then exit 0', async () => {
    const serve = await startServe(['test/fixtures/plugins/slow.ts', '--set', 'limits.drain_grace_ms=10000']);
    running.push(serve);
    const client = createLoaderClient(`127.0.0.1:${serve.grpcPort}`);
    clients.push(client);
    const slow = infer(client, { service: 'slow', params: { ms: '1500' }, items: [text('in flight')] });
    // One connection, streams in order: once this probe is answered, the slow call was admitted.
    await expect(infer(client, { service: 'slow', params: { ms: '0' }, items: [text('probe')] })).resolves.toBeDefined();
    serve.proc.kill('SIGTERM');
    await serve.waitForLog('draining');
    const refused = await infer(client, { service: 'slow', items: [text('late')] }).catch((e: unknown) => e);
    expect((refused as { code: number }).code).toBe(status.UNAVAILABLE);
    const late = aigesCodeOf(refused);
    // Either the loader refused it (10101) or its port was already closed (no trailer).
    expect(late === 10101 || late === undefined).toBe(true);
    const done = await slow;
    expect(done.items[0]?.data.toString()).toBe('in flight');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
    const order = serve.logs.map((l) => l['msg']).filter((m) => ['draining', 'stopped'].includes(String(m)));
    expect(order).toEqual(['draining', 'stopped']);
  });

  it('started by npx, the loader stops when npx is killed (npx aiges serve … & kill $!)', async () => {
    const npx = spawn('npx', ['aiges', 'serve', 'demo/echo', '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npxs.push(npx);
    const lines: Record<string, unknown>[] = [];
    const ended = once(npx.stdout!, 'end');
    const listening = new Promise<Record<string, unknown>>((resolve) => {
      createInterface({ input: npx.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry['msg'] === 'listening') resolve(entry);
      });
    });
    const port = Number((await listening)['http_port']);
    npx.kill('SIGTERM');
    // npm does not pass the signal on; the loader notices npm is gone, drains and closes stdout.
    await ended;
    expect(lines.map((l) => l['msg'])).toContain('stopped');
    const refused = await fetch(`http://127.0.0.1:${port}/v2/health/live`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
  });

  it('a plugin whose init hangs makes serve exit 1 after the init timeout', async () => {
    const r = await runToExit([
      'serve',
      'test/fixtures/plugins/hangs-init.ts',
      '--grpc-port',
      '0',
      '--http-port',
      '0',
      '--set',
      'plugin.init_timeout_ms=300',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('did not finish within 300 ms');
  });

  it('a module that is not a wrapper makes serve exit 1 naming defineWrapper', async () => {
    const r = await runToExit(['serve', 'test/fixtures/plugins/wrong-export.ts', '--grpc-port', '0', '--http-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('defineWrapper');
  });

  it('an unknown config key or bad value stops startup naming the key', async () => {
    const unknown = await runToExit(['serve', 'demo/echo', '--set', 'limits.capcity=3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('limits.capcity');
    const bad = await runToExit(['serve', 'demo/echo'], { AIGES_LIMITS_CAPACITY: 'lots' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('limits.capacity');
    expect(bad.stderr).toContain('environment');
  });

  it('a missing plugin path exits 1 with one readable line, before binding any port', async () => {
    const r = await runToExit(['serve', '/nonexistent', '--grpc-port', '0', '--http-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('aiges serve: plugin path /nonexistent does not exist\n');
    // No "listening" line: nothing was bound (and no JSON log line at all).
    expect(r.stdout).toBe('');
  });

  it('a plugin whose init throws: exit 1, the readable line, and no stack in the log unless --log-level debug', async () => {
    const args = ['serve', 'test/fixtures/plugins/throws-init.ts', '--grpc-port', '0', '--http-port', '0'];
    const plain = await runToExit(args);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe('aiges serve: plugin throws-init init failed: model file missing: /nowhere/model.bin\n');
    expect(plain.stdout).not.toContain('stack');
    const debug = await runToExit([...args, '--log-level', 'debug']);
    expect(debug.code).toBe(1);
    const [line, ...stack] = debug.stderr.split('\n');
    expect(line).toBe('aiges serve: plugin throws-init init failed: model file missing: /nowhere/model.bin');
    expect(stack.join('\n')).toMatch(/^\w*Error: .*\n {4}at /);
  });
});
