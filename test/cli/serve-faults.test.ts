/**
 * Fault handling of a real `aiges serve` process (loader/faults.ts, wired by loader/cli/serve.ts):
 * a plugin's unhandled rejection or timer throw is logged and counted and the process serves on,
 * ready; a fault of the loader's own drains what is in flight, logs a fatal line and exits 70.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { aigesCodeOf, createLoaderClient, infer, type LoaderClient } from '../../loader/tools/client.js';
import { type CliProcess, startServe } from './serve-process.js';

const FAULTS = 'test/fixtures/plugins/faults.ts';
const text = (s: string) => ({ key: 'text', type: 0 as const, status: 3 as const, data: Buffer.from(s) });
const running: CliProcess[] = [];
const clients: LoaderClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});

/** Resolves with the first log line that `match` accepts (seen already or to come); rejects if the process exits first. */
function waitForLine(cli: CliProcess, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const line = cli.logs.find(match);
      if (line === undefined) return false;
      cli.proc.stdout?.off('data', check);
      resolve(line);
      return true;
    };
    if (check()) return;
    // runCli's line reader listens to stdout first, so each chunk's lines are in `logs` by now.
    cli.proc.stdout?.on('data', check);
    cli.exited.then((e) => {
      if (!check()) reject(new Error(`aiges exited (${e.code ?? e.signal}) first: ${cli.stderr()}`));
    });
  });
}

async function metric(port: number, series: string): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('aiges serve: faults', () => {
  it("a plugin's unhandled rejection and timer throw are logged and counted; the loader serves on, ready", async () => {
    const serve = await startServe([FAULTS]);
    running.push(serve);
    const client = createLoaderClient(`127.0.0.1:${serve.grpcPort}`);
    clients.push(client);
    await infer(client, { service: 'faults', params: { fault: 'rejection', sid: 'r-1' }, items: [text('a')] });
    const rejection = await waitForLine(serve, (l) => l['kind'] === 'unhandled_rejection');
    expect(rejection).toMatchObject({ service: 'faults', sid: 'r-1', isolation: 'none', err: { message: 'a rejection nobody awaits' } });
    expect(String(rejection['plugin'])).toMatch(/test\/fixtures\/plugins\/faults\.ts$/);
    await infer(client, { service: 'faults', params: { fault: 'timer' }, items: [text('b')] });
    const timer = await waitForLine(serve, (l) => l['kind'] === 'uncaught_exception');
    expect(timer).toMatchObject({ service: 'faults', err: { message: 'thrown inside a timer' } });

    const next = await infer(client, { service: 'faults', items: [text('still here')] });
    expect(next.items[0]?.data.toString()).toBe('still here');
    expect((await fetch(`http://127.0.0.1:${serve.httpPort}/v2/health/ready`)).status).toBe(200);
    expect(await metric(serve.httpPort, 'aiges_plugin_faults_total{service="faults",kind="unhandled_rejection"}')).toBe(1);
    expect(await metric(serve.httpPort, 'aiges_plugin_faults_total{service="faults",kind="uncaught_exception"}')).toBe(1);
    expect(serve.proc.exitCode).toBeNull();
  });

  it("a fault of the loader's own: fatal line, the call in flight still answered (drain), exit 70", async () => {
    const serve = await startServe([FAULTS, '--set', 'limits.drain_grace_ms=10000']);
    running.push(serve);
    const client = createLoaderClient(`127.0.0.1:${serve.grpcPort}`);
    clients.push(client);
    // The fault fires at once; the call answers 300 ms later, during the drain.
    const call = infer(client, { service: 'faults', params: { fault: 'loader', ms: '300' }, items: [text('in flight')] });
    const fatal = await waitForLine(serve, (l) => l['level'] === 60);
    expect(fatal).toMatchObject({ kind: 'uncaught_exception', err: { message: 'a fault outside every plugin' } });
    expect(String(fatal['msg'])).toMatch(/^loader fault \(uncaught exception\): a fault outside every plugin; stopping/);
    expect((await call).items[0]?.data.toString()).toBe('in flight');
    expect(await serve.exited).toEqual({ code: 70, signal: null });
    const order = serve.logs.map((l) => l['msg']).filter((m) => ['draining', 'stopped'].includes(String(m)));
    expect(order).toEqual(['draining', 'stopped']);
    expect(serve.logs.some((l) => l['kind'] === 'uncaught_exception' && l['level'] === 50)).toBe(false); // not counted as a plugin's
  });

  it('under isolation "worker" (the built thread entry): a fault fails its call, a thread that exits answers 10109; the process serves on', async () => {
    const serve = await startServe([FAULTS, '--set', 'plugin.isolation=worker', '--set', 'plugin.concurrency=1']);
    running.push(serve);
    const client = createLoaderClient(`127.0.0.1:${serve.grpcPort}`);
    clients.push(client);
    const faulted = await infer(client, { service: 'faults', params: { fault: 'timer', hold: 'true' }, items: [text('a')] }).catch(
      (e) => e,
    );
    expect(aigesCodeOf(faulted)).toBe(10909);
    const died = await infer(client, { service: 'faults', params: { fault: 'exit' }, items: [text('b')] }).catch((e) => e);
    expect(aigesCodeOf(died)).toBe(10109);
    expect(await waitForLine(serve, (l) => l['kind'] === 'worker_exit')).toMatchObject({ service: 'faults', isolation: 'worker' });
    const next = await infer(client, { service: 'faults', items: [text('still here')] });
    expect(next.items[0]?.data.toString()).toBe('still here');
    expect(await metric(serve.httpPort, 'aiges_plugin_faults_total{service="faults",kind="uncaught_exception"}')).toBe(1);
    expect(await metric(serve.httpPort, 'aiges_plugin_faults_total{service="faults",kind="worker_exit"}')).toBe(1);
    serve.proc.kill('SIGTERM');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
  });
});
