/**
 * `[plugin] isolation = "process"` with a TS plugin (test/fixtures/plugins/process-faults.ts),
 * through real loaders over gRPC and HTTP: calls and sessions served from a plugin process, what a
 * plugin gets there (config, ctx.log, ctx.meter, ctx.signal), crashes (abort(), process.exit()) →
 * 10109, one log line, the counter, not ready until the restart, 10101 meanwhile; a loader beside
 * it unaffected; a hang → the process killed and restarted; backpressure; hot [wrapper] changes.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Codes } from '../../loader/errors.js';
import { SERVER_V8_FLAGS } from '../../loader/lib/v8-flags.js';
import { ResultBuffer } from '../../loader/dataplane/results.js';
import { infer, runSession } from '../../loader/tools/client.js';
import { fetchLoad } from '../../polaris/client/load-fetch.js';
import { formatReady } from '../../polaris/client/services-ls.js';
import type { DataItem } from '../../proto/gen/aiges/v1/DataItem.js';
import { expectFree, expectGrpcError, openSession, serve, type Served } from '../server/grpc-helpers.js';
import { b64, call, expectError, unb64 } from '../server/http-helpers.js';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { aigesCodeOf } from '../../loader/tools/client.js';
import { alive, type Isolated, LogLines, metric, PROCESS_START_MS, pluginProcesses, startIsolated } from './process-helpers.js';

const FAULTS = 'test/fixtures/plugins/process-faults.ts';
const text = (s: string, status: 0 | 1 | 2 | 3 = 3): DataItem => ({ key: 'text', type: 0, status, encoding: 'utf8', data: Buffer.from(s) });
const ask = async (served: Isolated, s: string) =>
  (await infer(served.client, { service: 'faults', items: [text(s)] })).items[0]!.data.toString();
const isCrashLine = (line: { msg?: string }) => /^plugin process (was killed by|exited with|hung)/.test(line.msg ?? '');

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
  // Whatever a test did, stopping its loaders ended every plugin process.
  expect(pluginProcesses()).toEqual([]);
});

async function start(plugin: Record<string, unknown> = {}, overrides: Record<string, Record<string, unknown>> = {}): Promise<Isolated> {
  const served = await startIsolated({ path: FAULTS, ...plugin }, overrides);
  open.push(served);
  return served;
}

describe('a TS plugin in a plugin process', () => {
  it('serves once calls (gRPC, HTTP) and sessions from another process, with its [wrapper] config', async () => {
    const served = await start({}, { wrapper: { greeting: 'hi', n: 3 } });
    const pid = Number(await ask(served, 'pid'));
    expect(pid).not.toBe(process.pid);
    expect(alive(pid)).toBe(true);
    // The plugin process runs with the serving processes' V8 settings (lib/v8-flags.ts).
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toEqual(expect.arrayContaining([...SERVER_V8_FLAGS]));
    expect(JSON.parse(await ask(served, 'config'))).toEqual({ greeting: 'hi', n: 3 });
    expect(await ask(served, 'héllo')).toBe('héllo');
    const http = await call(served.loader, { payload: { text: { text: b64('over http') } } }, { service: 'faults' });
    expect([http.status, unb64(http.body.payload.text.text)]).toEqual([200, 'over http']);
    const { responses } = await runSession(served.client, { service: 'faults' }, [[text('a', 1)], [text('b', 1)]]);
    expect(responses.flatMap((r) => r.items.map((i) => i.data.toString()))).toEqual(['a', 'b']);
    await expectFree(served.loader);
    // Stopping the loader finalises the plugin and ends its process.
    await served.close();
    open = [];
    expect(alive(pid)).toBe(false);
  });

  it('ctx.log lines reach the loader log with service and sid; ctx.meter reaches the loader metric', async () => {
    const served = await start();
    await infer(served.client, { service: 'faults', params: { sid: 'sid-log-1' }, items: [text('log')] });
    const line = await served.logs.wait((l) => l.msg === 'hello from the plugin');
    expect(line).toMatchObject({ level: 30, service: 'faults', sid: 'sid-log-1', fixture: true, plugin_pid: expect.any(Number) });
    expect(await metric(served.loader, 'aiges_plugin_meter_total', 'service="faults",key="logged"')).toBe(2);
  });

  it("a call's deadline fires ctx.signal in the plugin process, with the call's code", async () => {
    const served = await start();
    const body = { header: { sid: 'sid-deadline' }, payload: { text: { text: b64('signal') } } };
    expectError(await call(served.loader, body, { service: 'faults', headers: { 'aiges-timeout-ms': '200' } }), 504, Codes.EXEC_TIMEOUT);
    const line = await served.logs.wait((l) => l.msg === 'aborted' && l['sid'] === 'sid-deadline');
    expect(line['code']).toBe(Codes.EXEC_TIMEOUT);
    await expectFree(served.loader);
  });

  it('abort(): the call in flight gets 10109, an open session ends with 10109; one crash line, the counter; not ready (10101) until the restart, then served again; a loader beside it is unaffected', async () => {
    const served = await start();
    const beside: Served = await serve();
    open.push(beside);
    const before = Number(await ask(served, 'pid'));
    // A session open in the plugin process.
    const session = openSession(served.client);
    session.write({ service: 'faults', items: [text('first', 0)] });
    await session.received(1);

    const details = await expectGrpcError(
      infer(served.client, { service: 'faults', items: [text('abort')] }),
      grpc.status.INTERNAL,
      Codes.CRASH,
    );
    expect(details).toMatch(/plugin process \d+ was killed by SIGABRT/);
    const ended = await session.done.then(
      () => undefined,
      (err: grpc.ServiceError) => err,
    );
    expect([ended?.code, aigesCodeOf(ended)]).toEqual([grpc.status.INTERNAL, Codes.CRASH]);

    // One line names the plugin, the signal and what was lost.
    const crash = await served.logs.wait(isCrashLine);
    expect(crash).toMatchObject({
      level: 50,
      service: 'faults',
      plugin: expect.stringMatching(/process-faults\.ts$/),
      plugin_pid: before,
      signal: 'SIGABRT',
      exit_code: null,
      lost_calls: 1,
      lost_sessions: 1,
      restart_in_ms: 100,
    });
    expect(await metric(served.loader, 'aiges_plugin_crashes_total', 'service="faults"')).toBe(1);

    // Down: not ready (HTTP readiness, WatchLoad as `aiges services ls` reads it), new calls refused at once with 10101.
    expect(served.loader.health.ready).toBe(false);
    const load = await fetchLoad(`127.0.0.1:${served.loader.grpcPort}`);
    expect(formatReady(load ?? null)).toBe('no');
    await expectGrpcError(
      infer(served.client, { service: 'faults', items: [text('x')] }),
      grpc.status.UNAVAILABLE,
      Codes.INSTANCE_INACTIVE,
    );
    // The loader beside it serves on, ready.
    expect((await infer(beside.client, { service: 'echo', items: [text('still here')] })).items[0]!.data.toString()).toBe('still here');
    expect(beside.loader.health.ready).toBe(true);

    await served.ready();
    expect(served.readiness).toEqual(['not ready', 'ready']);
    const after = Number(await ask(served, 'pid'));
    expect(after).not.toBe(before);
    expect(await ask(served, 'again')).toBe('again');
    expect(served.logs.matching(isCrashLine)).toHaveLength(1);
    await expectFree(served.loader);
  });

  it('process.exit(): 10109 and the exit code in the crash line; a session write that exits ends its session with 10109', async () => {
    const served = await start();
    await expectGrpcError(infer(served.client, { service: 'faults', items: [text('exit')] }), grpc.status.INTERNAL, Codes.CRASH);
    expect(await served.logs.wait(isCrashLine)).toMatchObject({ signal: null, exit_code: 3, lost_calls: 1, lost_sessions: 0 });
    await served.ready();
    await expect(runSession(served.client, { service: 'faults' }, [[text('ok', 1)], [text('exit', 1)]])).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: expect.stringMatching(/exited with code 3/),
    });
    expect(await metric(served.loader, 'aiges_plugin_crashes_total', 'service="faults"')).toBe(2);
    // The second crash in a row waits twice as long.
    expect(served.logs.matching(isCrashLine).map((l) => l['restart_in_ms'])).toEqual([100, 200]);
    await served.ready();
    expect(await ask(served, 'back')).toBe('back');
  });

  it('a hang: when every exec slot is stuck, the plugin process is killed and restarted, and the stuck calls give their slots back', async () => {
    const served = await start({ concurrency: 1 }, { limits: { hang_grace_ms: 50 } });
    const before = Number(await ask(served, 'pid'));
    const body = { payload: { text: { text: b64('hang') } } };
    expectError(await call(served.loader, body, { service: 'faults', headers: { 'aiges-timeout-ms': '50' } }), 504, Codes.EXEC_TIMEOUT);
    const crash = await served.logs.wait(isCrashLine);
    expect(crash).toMatchObject({ signal: 'SIGKILL', reason: expect.stringMatching(/^hung: all 1 exec slots/), lost_calls: 1 });
    expect(alive(before)).toBe(false);
    const instance = served.loader.registry.get('faults');
    expect(instance.execSlots.available).toBe(1);
    expect(instance.stuck).toBe(0);
    await served.ready();
    expect(await ask(served, 'unstuck')).toBe('unstuck');
  });

  it('backpressure: a session whose results are not taken holds the plugin back; taking them lets it finish', async () => {
    const served = await start();
    const session = await served.loader.dataplane.openSession({ service: 'faults', params: {}, headers: {} });
    let taking = false;
    const taken: string[] = [];
    const sink = new ResultBuffer(1);
    const results = {
      result: (r: Parameters<ResultBuffer['result']>[0]) => {
        for (const item of r.items) taken.push(item.data.toString());
        sink.result(r);
        return taking;
      },
      close: (e: Parameters<ResultBuffer['close']>[0]) => sink.close(e),
    };
    session.start(results);
    await session.write([{ key: 'text', type: 0, status: 1, encoding: '', attributes: {}, data: Buffer.from('flood:100') }]);
    const held = await served.logs.wait((l) => l.msg === 'held back');
    // The plugin is held back once its own queue (2) is full and the loader has room for no more
    // (RESULT_WINDOW = 8 batches unread; the client took 1, then stopped).
    expect(held['produced']).toBeLessThanOrEqual(1 + 8 + 2);
    expect(taken).toHaveLength(1);
    // NOTE: a fixed wait, only to show that nothing more is produced while the client takes nothing.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(Math.max(...served.logs.matching((l) => l.msg === 'produced').map((l) => l['produced'] as number))).toBe(held['produced']);
    taking = true;
    session.resume();
    await served.logs.wait((l) => l.msg === 'produced' && l['produced'] === 100);
    await new Promise<void>((resolve) => {
      const check = () => (taken.length >= 100 ? resolve() : setImmediate(check));
      check();
    });
    expect(taken.slice(0, 3)).toEqual(['r1', 'r2', 'r3']);
    expect(taken.at(-1)).toBe('r100');
    session.cancel();
    await expectFree(served.loader);
  });

  it('hot [wrapper] change: a new plugin process inits with the new config beside the old one, which is then finalised and ends; a failed init keeps the old set serving', async () => {
    const served = await start({}, { wrapper: { v: 1 } });
    const { registry } = served.loader;
    const first = registry.get('faults');
    const firstPid = Number(await ask(served, 'pid'));
    const options = (config: Record<string, unknown>) => ({ config, concurrency: 4, initTimeoutMs: PROCESS_START_MS });
    const second = await registry.reinit('faults', options({ v: 2 }));
    expect(alive(firstPid)).toBe(true);
    expect(registry.put(second)).toBe(first);
    expect(JSON.parse(await ask(served, 'config'))).toEqual({ v: 2 });
    const secondPid = Number(await ask(served, 'pid'));
    expect(secondPid).not.toBe(firstPid);
    await first.finalise(5_000);
    expect(alive(firstPid)).toBe(false);

    await expect(registry.reinit('faults', options({ fail_init: true }))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringMatching(/init failed on request/),
    });
    expect(registry.get('faults')).toBe(second);
    expect(JSON.parse(await ask(served, 'config'))).toEqual({ v: 2 });
  });

  it('the loader log level reaches the plugin process when it changes', async () => {
    const served = await start({}, { log: { level: 'warn' } });
    served.loader.log.level = 'info';
    await infer(served.client, { service: 'faults', params: { sid: 'sid-level' }, items: [text('log')] });
    expect(await served.logs.wait((l) => l.msg === 'hello from the plugin')).toMatchObject({ sid: 'sid-level' });
  });
});

describe('a plugin process that cannot start', () => {
  async function startFails(plugin: Record<string, unknown>, wrapper: Record<string, unknown> = {}): Promise<unknown> {
    const loader = new Loader(
      loadConfig({
        overrides: {
          server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
          plugin: { isolation: 'process', ...plugin },
          wrapper,
          log: { level: 'silent' },
        },
      }),
      { defaultMetrics: false, logDestination: new LogLines() },
    );
    const failure = await loader.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    await loader.stop();
    // Nothing is left running.
    await vi.waitFor(() => expect(pluginProcesses()).toEqual([]));
    return failure;
  }

  it("a module that does not export a wrapper: 10901 with the kind's reason", async () => {
    expect(await startFails({ path: 'test/fixtures/plugins/wrong-export.ts' })).toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringMatching(/must default-export a wrapper made by defineWrapper/),
    });
  });

  it('a process that exits in init: 10901, not a crash of a call', async () => {
    expect(await startFails({ path: FAULTS }, { exit_in_init: true })).toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringMatching(/plugin init failed: plugin process \d+ exited with code 4/),
    });
  });

  it('an init past plugin.init_timeout_ms: 10901, and the plugin process is ended', async () => {
    expect(await startFails({ path: 'test/fixtures/plugins/hangs-init.ts', init_timeout_ms: 3_000 })).toMatchObject({
      aigesCode: Codes.PLUGIN_INIT,
      message: expect.stringMatching(/did not finish within 3000 ms/),
    });
  });
});
