/**
 * `[plugin] isolation = "process"` with native AIGes libraries, through real loaders over gRPC:
 * demo/native-echo in once and session mode (a 16 MiB payload intact both ways, meters, a hot
 * [wrapper] change, which process isolation allows for C libraries), an addon, and test/native/wrappers/
 * crashy.cpp: a segfault → 10109, the crash line and counter, a restart; a wrapperExec that never
 * returns → stuck → the process killed and restarted.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../loader/errors.js';
import { ARENA_BYTES, OUTPUT_ARENA_AT } from '../../loader/plugin/process/shared-region.js';
import type { PluginProcess } from '../../loader/plugin/process/supervisor.js';
import { infer, runSession } from '../../loader/tools/client.js';
import type { DataItem } from '../../proto/gen/aiges/v1/DataItem.js';
import { artifacts, ensureNativeBuild } from '../native/helpers.js';
import { expectFree, expectGrpcError } from '../server/grpc-helpers.js';
import { b64, call, expectError } from '../server/http-helpers.js';
import { alive, type Isolated, metric, PROCESS_START_MS, pluginProcesses, startIsolated } from './process-helpers.js';

const item = (data: Buffer | string, status: 0 | 1 | 2 | 3 = 3, key = 'text'): DataItem => ({
  key,
  type: 0,
  status,
  encoding: 'utf8',
  data: typeof data === 'string' ? Buffer.from(data) : data,
});
const isCrashLine = (line: { msg?: string }) => /^plugin process (was killed by|exited with|hung)/.test(line.msg ?? '');
const pidOf = (served: Isolated, service: string) => (served.loader.registry.get(service).state as PluginProcess).pid;

beforeAll(ensureNativeBuild, 300_000);

let open: Isolated[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
  expect(pluginProcesses()).toEqual([]);
});

async function start(
  path: string,
  native: Record<string, unknown>,
  overrides: Record<string, Record<string, unknown>> = {},
): Promise<Isolated> {
  const served = await startIsolated({ kind: 'native', path, concurrency: 2, native }, overrides);
  open.push(served);
  return served;
}

describe('native libraries in a plugin process', () => {
  it('once: items with attributes and a 16 MiB payload round-trip intact; meters reach the loader', async () => {
    const served = await start(
      artifacts.echo,
      { service: 'native-echo', mode: 'once', async: false },
      { limits: { max_message_bytes: 40 << 20 } },
    );
    expect(pidOf(served, 'native-echo')).not.toBe(process.pid);
    const big = randomBytes(16 << 20);
    for (let i = 0; i < 3; i++) {
      const res = await infer(served.client, {
        service: 'native-echo',
        params: { meter: '1' },
        items: [item('héllo'), { key: 'audio', type: 1, status: 3, encoding: 'pcm', attributes: { sample_rate: '16000' }, data: big }],
      });
      expect(res.items.map((i) => [i.key, i.type, i.encoding, i.attributes])).toEqual([
        ['text', 0, 'utf8', {}],
        ['audio', 1, 'pcm', { sample_rate: '16000' }],
      ]);
      expect(res.items[0]!.data.toString()).toBe('héllo');
      expect(res.items[1]!.data.equals(big)).toBe(true);
    }
    expect(await metric(served.loader, 'aiges_plugin_meter_total', 'service="native-echo",key="echo_items"')).toBeGreaterThan(0);
    await expectFree(served.loader);
  });

  it('16 MiB outputs cross in the shared region, written there by the host; released after use, the region never fills', async () => {
    const served = await start(
      artifacts.echo,
      { service: 'native-echo', mode: 'once', async: false },
      { limits: { max_message_bytes: 40 << 20 } },
    );
    const instance = served.loader.registry.get('native-echo');
    const big = randomBytes(16 << 20);
    const request = {
      service: 'native-echo',
      params: {},
      headers: {},
      items: [{ key: 'data', type: 4 as const, status: 3 as const, encoding: '', attributes: {}, data: big }],
    };
    // More calls than 16 MiB blocks fit in the plugin process's arena: each must give its block back.
    for (let i = 0; i < 2 * (ARENA_BYTES / (16 << 20)); i++) {
      const [out] = await served.loader.dataplane.infer(request);
      expect(out!.data.equals(big)).toBe(true);
      // A view of the region (inline bytes would be a view of a message instead).
      expect(out!.data.buffer.byteLength).toBe(2 * ARENA_BYTES);
      expect(out!.data.byteOffset).toBeGreaterThanOrEqual(OUTPUT_ARENA_AT);
      instance.releaseOutputs([out!]);
    }
    await expectFree(served.loader);
  });

  it('session: frames echoed in order, the last response END', async () => {
    const served = await start(artifacts.echo, { service: 'native-echo', mode: 'session', async: false });
    const frames = ['a', 'b', 'c'].map((s, i) => [item(s, i === 2 ? 2 : 1)]);
    const { responses } = await runSession(served.client, { service: 'native-echo' }, frames);
    expect(responses.flatMap((r) => r.items.map((i) => i.data.toString()))).toEqual(['a', 'b', 'c']);
    expect(responses.at(-1)?.status).toBe(2);
    await expectFree(served.loader);
  });

  it('a hot [wrapper] change runs a C library side by side in a new process; a failed wrapperInit keeps the old set', async () => {
    const served = await start(artifacts.echo, { service: 'native-echo', mode: 'once', async: false });
    const { registry } = served.loader;
    const first = registry.get('native-echo');
    const firstPid = pidOf(served, 'native-echo')!;
    const options = (config: Record<string, unknown>) => ({ config, concurrency: 2, initTimeoutMs: PROCESS_START_MS });
    await expect(registry.reinit('native-echo', options({ init_fail: 7 }))).rejects.toMatchObject({ aigesCode: Codes.PLUGIN_INIT });
    const second = await registry.reinit('native-echo', options({ mode_delay_ms: 0 }));
    registry.put(second);
    expect(pidOf(served, 'native-echo')).not.toBe(firstPid);
    expect((await infer(served.client, { service: 'native-echo', items: [item('new set')] })).items[0]!.data.toString()).toBe('new set');
    await first.finalise(5_000);
    expect(alive(firstPid)).toBe(false);
  });

  it('an addon (the `addon` kind) is served from a plugin process too', async () => {
    const served = await startIsolated({ path: artifacts.addonChecksum });
    open.push(served);
    expect(pidOf(served, 'addon-checksum')).not.toBe(process.pid);
    const big = Buffer.alloc(4 << 20, 0xab);
    const res = await infer(served.client, {
      service: 'addon-checksum',
      items: [{ key: 'data', type: 4, status: 3, data: Buffer.from('123456789') }],
    });
    expect(res.items[0]?.data.toString()).toBe('crc32=cbf43926 bytes=9');
    const large = await infer(served.client, { service: 'addon-checksum', items: [{ key: 'data', type: 4, status: 3, data: big }] });
    expect(large.items[0]?.data.toString()).toMatch(/^crc32=[0-9a-f]{8} bytes=4194304$/);
  });

  it('a segfault: the call gets 10109, one crash line names SIGSEGV, the counter counts it; ready again after the restart', async () => {
    const served = await start(artifacts.crashy, { service: 'crashy', mode: 'once', async: false });
    const before = pidOf(served, 'crashy');
    const details = await expectGrpcError(
      infer(served.client, { service: 'crashy', items: [item('segv')] }),
      grpc.status.INTERNAL,
      Codes.CRASH,
    );
    expect(details).toMatch(/was killed by SIGSEGV/);
    expect(await served.logs.wait(isCrashLine)).toMatchObject({
      service: 'crashy',
      plugin: artifacts.crashy,
      plugin_pid: before,
      signal: 'SIGSEGV',
      lost_calls: 1,
      lost_sessions: 0,
    });
    expect(await metric(served.loader, 'aiges_plugin_crashes_total', 'service="crashy"')).toBe(1);
    await served.ready();
    expect(served.readiness).toEqual(['not ready', 'ready']);
    expect((await infer(served.client, { service: 'crashy', items: [item('fine')] })).items[0]!.data.toString()).toBe('fine');
    await expectFree(served.loader);
  });

  it('a wrapperExec that never returns: with every exec slot stuck the process is killed (SIGKILL) and restarted', async () => {
    const served = await start(artifacts.crashy, { service: 'crashy', mode: 'once', async: false }, { limits: { hang_grace_ms: 50 } });
    const body = { payload: { text: { text: b64('hang') } } };
    const timeout = { service: 'crashy', headers: { 'aiges-timeout-ms': '50' } };
    // Two exec slots: one stuck call still leaves the set ready; the second makes every slot stuck.
    expectError(await call(served.loader, body, timeout), 504, Codes.EXEC_TIMEOUT);
    expectError(await call(served.loader, body, timeout), 504, Codes.EXEC_TIMEOUT);
    expect(await served.logs.wait(isCrashLine)).toMatchObject({
      signal: 'SIGKILL',
      reason: expect.stringMatching(/^hung: all 2 exec slots/),
      lost_calls: 2,
    });
    const instance = served.loader.registry.get('crashy');
    expect([instance.execSlots.available, instance.stuck]).toEqual([2, 0]);
    await served.ready();
    expect((await infer(served.client, { service: 'crashy', items: [item('alive')] })).items[0]!.data.toString()).toBe('alive');
  });

  it("one exec slot: a sync wrapperExec runs on the plugin process's own thread, and a hang there is killed and restarted all the same", async () => {
    const native = { service: 'fidelity', mode: 'once', async: false };
    const onMainThread = async (served: Isolated) => {
      const res = await infer(served.client, { service: 'fidelity', items: [item('x')] });
      return (JSON.parse(res.items[0]!.data.toString()) as { mainThread: boolean }).mainThread;
    };
    const one = await startIsolated({ kind: 'native', path: artifacts.fidelity, concurrency: 1, native });
    open.push(one);
    expect(await onMainThread(one)).toBe(true);
    // With two slots, two calls may run at once: on the host's worker threads.
    const two = await start(artifacts.fidelity, native);
    expect(await onMainThread(two)).toBe(false);

    const crashy = await startIsolated(
      { kind: 'native', path: artifacts.crashy, concurrency: 1, native: { service: 'crashy', mode: 'once', async: false } },
      { limits: { hang_grace_ms: 50 } },
    );
    open.push(crashy);
    const body = { payload: { text: { text: b64('hang') } } };
    expectError(await call(crashy.loader, body, { service: 'crashy', headers: { 'aiges-timeout-ms': '50' } }), 504, Codes.EXEC_TIMEOUT);
    expect(await crashy.logs.wait(isCrashLine)).toMatchObject({
      signal: 'SIGKILL',
      reason: expect.stringMatching(/^hung: all 1 exec slots/),
      lost_calls: 1,
    });
    await crashy.ready();
    expect((await infer(crashy.client, { service: 'crashy', items: [item('alive')] })).items[0]!.data.toString()).toBe('alive');
  });
});
