/**
 * Config center against a real etcd (integration tier), driven through the `aiges config` and
 * `aiges services` CLI. A push is a rollout: it reaches three running loaders and becomes current
 * once all applied it, and `status` shows each; a version one loader cannot apply fails for all
 * (exit 1, nothing switches, every loader back on the current version, `status` says so); a bad
 * [wrapper] leaves the old plugin set serving; rollback; gray release to one instance, then rollback
 * and restart, with every instance on the version `status` says; a loader started after a push runs
 * it before it is ready; [log] level and [limits] capacity hot-applied; pushes refused before
 * anything is stored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EtcdPolaris } from '../../../polaris/store/polaris-etcd.js';
import { runToExit } from '../../cli/serve-process.js';
import { configurableStats } from '../../fixtures/plugins/polaris-configurable.js';
import { TestEtcd } from '../etcd.js';
import { ask, codeOf, startTestLoader, tomlFile, type TestLoader } from '../helpers.js';

let etcd: TestEtcd;
let admin: EtcdPolaris;
const loaders: TestLoader[] = [];

beforeAll(async () => {
  etcd = await TestEtcd.start();
  admin = new EtcdPolaris({ endpoints: [etcd.endpoint] });
});
afterEach(async () => {
  configurableStats().release();
  await Promise.all(loaders.splice(0).map((t) => t.loader.stop()));
  configurableStats().reset();
});
afterAll(async () => {
  await admin.close();
  await etcd.stop();
});

async function startLoaders(service: string, count: number, overrides: Record<string, Record<string, unknown>> = {}) {
  const started = await Promise.all(
    Array.from({ length: count }, () =>
      startTestLoader({ polaris: { endpoints: [etcd.endpoint], service, ttl_s: 2 }, limits: { drain_grace_ms: 5_000 }, ...overrides }),
    ),
  );
  loaders.push(...started);
  return started.map((t) => t.loader);
}

/** Runs `aiges <args> --etcd <test etcd>` to completion. */
async function aiges(...args: string[]) {
  const r = await runToExit([...args, '--etcd', etcd.endpoint]);
  return { ...r, json: () => JSON.parse(r.stdout) };
}

interface StatusRow {
  instance: string;
  running: number | null;
  target: number | null;
  status?: { version: number; ok: boolean; error?: string; running?: number };
}

/** What `aiges config status --json` says each instance runs, by instance id. */
async function running(service: string): Promise<Record<string, number | null>> {
  const rows = (await aiges('config', 'status', service, '--json')).json().instances as StatusRow[];
  return Object.fromEntries(rows.map((r) => [r.instance, r.running]));
}

/** The same from the store in process: what a test waits on (a CLI run per poll costs a Node start). */
async function runningNow(service: string): Promise<Record<string, number | null>> {
  const statuses = await admin.config.status(service);
  return Object.fromEntries(statuses.map((s) => [s.instance, s.running ?? null]));
}

// Each case runs several loaders and aiges CLI processes: 10 s alone, three times that on a busy machine.
describe('aiges config on etcd', { timeout: 90_000 }, () => {
  it('a push reaches 3 running loaders and becomes current once all applied it; status, history and get show it', async () => {
    const loaders = await startLoaders('three', 3);
    const pushed = await aiges(
      'config',
      'push',
      'three',
      tomlFile('[wrapper]\nprefix = "v1:"\n[limits]\ncapacity = 9\n'),
      '--note',
      'first push',
    );
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/^three: config version 1 now current \(all instances\)\nINSTANCE\s+RESULT\s+RUNNING\n/);
    for (const l of loaders) expect(pushed.stdout).toMatch(new RegExp(`${l.instanceId}\\s+applied\\s+1\\n`));
    expect(await Promise.all(loaders.map((l) => ask(l, 'x')))).toEqual(['v1:x', 'v1:x', 'v1:x']);
    expect(loaders.map((l) => l.dataplane.admission.capacity)).toEqual([9, 9, 9]);

    const status = (await aiges('config', 'status', 'three', '--json')).json() as { current: number; instances: StatusRow[] };
    expect(status.current).toBe(1);
    expect(status.instances.map((r) => [r.instance, r.running, r.target, r.status?.ok])).toEqual(
      loaders.map((l) => [l.instanceId, 1, 1, true]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const text = await aiges('config', 'status', 'three');
    expect(text.stdout).toContain('three: current config version 1');
    for (const l of loaders) expect(text.stdout).toMatch(new RegExp(`${l.instanceId}\\s+1\\s+1\\s+1 applied`));
    const history = await aiges('config', 'history', 'three');
    expect(history.stdout).toMatch(/^\*\s+1\s+good\s+\S+\s+all instances\s+first push$/m);
    expect((await aiges('config', 'get', 'three')).stdout).toContain('prefix = "v1:"');

    const services = await aiges('services', 'ls', 'three');
    expect(services.stdout.split('\n')[0]).toMatch(
      /^SERVICE\s+VERSION\s+INSTANCE\s+ADDRESS\s+HTTP\s+CAPACITY\s+LOAD\s+READY\s+AGE\s+LABELS$/,
    );
    // LOAD: once calls + sessions / capacity, and READY, from each loader's own load stream.
    for (const l of loaders)
      expect(services.stdout).toMatch(
        new RegExp(`three\\s+1\\s+${l.instanceId}\\s+127\\.0\\.0\\.1:${l.grpcPort}\\s+\\S+\\s+9\\s+0\\+0/9\\s+yes\\s`),
      );
    const json = (await aiges('services', 'ls', 'three', '--json')).json() as { id: string; load: unknown }[];
    expect(json.map((r) => r.load)).toEqual(loaders.map(() => ({ inflight: 0, sessions: 0, capacity: 9, ready: true })));
  });

  it('a version one of three loaders cannot apply fails for all: exit 1, never current, every loader back on the current one', async () => {
    const started = await Promise.all(
      ['a', 'b', 'c'].map((token) =>
        startTestLoader({
          polaris: { endpoints: [etcd.endpoint], service: 'split', ttl_s: 2 },
          limits: { drain_grace_ms: 5_000 },
          wrapper: { token },
        }),
      ),
    );
    loaders.push(...started);
    const [a, b, c] = started.map((t) => t.loader) as [TestLoader['loader'], TestLoader['loader'], TestLoader['loader']];
    expect((await aiges('config', 'push', 'split', tomlFile('[wrapper]\nprefix = "good:"\n'))).code).toBe(0);
    const bad = await aiges('config', 'push', 'split', tomlFile('[wrapper]\nprefix = "bad:"\nfail_on = "b"\n'));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /^split: config version 2 FAILED, not made current: instance \S+: \[wrapper\] init failed.*configured to fail on token b/,
    );
    expect(bad.stdout).toMatch(new RegExp(`${b.instanceId}\\s+failed: .*\\s+1\\n`));
    // Every loader runs version 1 again: the two that applied version 2 went back.
    await vi.waitFor(async () => expect(await Promise.all([a, b, c].map((l) => ask(l, 'x')))).toEqual(['good:x', 'good:x', 'good:x']), {
      timeout: 5_000, // a rollback is a [wrapper] re-init on two loaders
    });
    expect((await admin.config.current('split'))?.version).toBe(1);
    expect(await admin.config.get('split', { version: 2 })).toMatchObject({ state: 'failed' });
    await vi.waitFor(async () => expect(Object.values(await runningNow('split'))).toEqual([1, 1, 1]), { timeout: 5_000 });
    expect(Object.values(await running('split'))).toEqual([1, 1, 1]);
    const text = (await aiges('config', 'status', 'split')).stdout;
    expect(text).toMatch(new RegExp(`${b.instanceId}\\s+1\\s+1\\s+2 failed, still on 1: \\[wrapper\\] init failed`));
    expect((await aiges('config', 'history', 'split')).stdout).toMatch(/^\s+2\s+failed: instance \S+: \[wrapper\] init failed/m);
    // A failed version is never rolled back to, and a loader started now takes version 1.
    expect((await aiges('config', 'rollback', 'split', '2')).stderr).toMatch(/config version 2 of split failed .*never run again/);
    const late = await startTestLoader({ polaris: { endpoints: [etcd.endpoint], service: 'split', ttl_s: 2 }, wrapper: { token: 'd' } });
    loaders.push(late);
    expect(await ask(late.loader, 'x')).toBe('good:x');
  });

  it('a bad [wrapper] leaves the old plugin set serving and status shows the error; rollback restores', async () => {
    const [loader] = (await startLoaders('badwrap', 1, { wrapper: { prefix: 'start:' } })) as [TestLoader['loader']];
    expect((await aiges('config', 'push', 'badwrap', tomlFile('[wrapper]\nprefix = "good:"\n'))).code).toBe(0);
    expect(await ask(loader, 'x')).toBe('good:x');
    const bad = await aiges('config', 'push', 'badwrap', tomlFile('[wrapper]\nfail = true\n'), '--json');
    expect(bad.code).toBe(1);
    expect(bad.json()).toMatchObject({
      version: 2,
      state: 'failed',
      instances: [{ instance: loader.instanceId, ok: false, running: 1 }],
    });
    const rows = (await aiges('config', 'status', 'badwrap', '--json')).json().instances as StatusRow[];
    expect(rows[0]).toMatchObject({ running: 1, target: 1, status: { version: 2, ok: false } });
    expect(rows[0]?.status?.error).toMatch(/\[wrapper\] init failed; the previous plugin set keeps serving: .*configured to fail/);
    expect(await ask(loader, 'still')).toBe('good:still');

    await aiges('config', 'push', 'badwrap', tomlFile('[wrapper]\nprefix = "three:"\n'));
    expect(await ask(loader, 'x')).toBe('three:x');
    const back = await aiges('config', 'rollback', 'badwrap', '1');
    expect(back.stdout).toBe('badwrap: every instance now runs config version 1\n');
    await vi.waitFor(async () => expect((await admin.config.status('badwrap'))[0]).toMatchObject({ version: 1, ok: true, running: 1 }));
    expect(await ask(loader, 'x')).toBe('good:x');
    expect((await aiges('config', 'rollback', 'badwrap', '7')).stderr).toContain('badwrap has no config version 7');
  });

  it('gray release to one instance; then rollback and a restart: every instance runs the version status says', async () => {
    const [a, b] = (await startLoaders('gray', 2)) as [TestLoader['loader'], TestLoader['loader']];
    expect((await aiges('config', 'push', 'gray', tomlFile('[wrapper]\nprefix = "all:"\n'))).code).toBe(0);
    expect([await ask(a, 'x'), await ask(b, 'x')]).toEqual(['all:x', 'all:x']);
    const canary = await aiges('config', 'push', 'gray', tomlFile('[wrapper]\nprefix = "canary:"\n'), '--instance', b.instanceId, '--json');
    expect(canary.json()).toMatchObject({ version: 2, instance: b.instanceId, state: 'good' });
    expect(await ask(b, 'x')).toBe('canary:x');
    expect(await ask(a, 'x')).toBe('all:x');
    expect(await running('gray')).toEqual({ [a.instanceId]: 1, [b.instanceId]: 2 });
    expect((await aiges('config', 'get', 'gray', '--instance', b.instanceId, '--json')).json().version).toBe(2);
    expect((await aiges('config', 'get', 'gray', '--instance', a.instanceId, '--json')).json().version).toBe(1);

    // Rollback clears the gray override: both on version 1, also after b restarts.
    await aiges('config', 'rollback', 'gray', '1');
    await vi.waitFor(async () => expect(await runningNow('gray')).toEqual({ [a.instanceId]: 1, [b.instanceId]: 1 }), { timeout: 5_000 });
    expect(await running('gray')).toEqual({ [a.instanceId]: 1, [b.instanceId]: 1 });
    const restarted = loaders.find((t) => t.loader === b)!;
    await restarted.loader.stop();
    loaders.splice(loaders.indexOf(restarted), 1);
    const [b2] = (await startLoaders('gray', 1)) as [TestLoader['loader']];
    expect(await ask(b2, 'x')).toBe('all:x');
    await vi.waitFor(async () => expect(await runningNow('gray')).toEqual({ [a.instanceId]: 1, [b2.instanceId]: 1 }));
    expect(await running('gray')).toEqual({ [a.instanceId]: 1, [b2.instanceId]: 1 });
  });

  it('a loader started after a push runs that version before it is ready', async () => {
    await admin.config.push('later', '[wrapper]\nprefix = "pushed:"\n');
    await admin.config.settle('later', []); // no instance yet: good, current
    const [loader] = (await startLoaders('later', 1, { wrapper: { prefix: 'startup:' } })) as [TestLoader['loader']];
    // start() resolved: the loader is ready, and already on the pushed version.
    expect(await ask(loader, 'x')).toBe('pushed:x');
    await vi.waitFor(async () => expect(await runningNow('later')).toEqual({ [loader.instanceId]: 1 }));
    expect(await running('later')).toEqual({ [loader.instanceId]: 1 });
  });

  it('log level and capacity are applied at once: 10110 at the new limit', async () => {
    const [loader] = (await startLoaders('live', 1, { limits: { capacity: 4, drain_grace_ms: 5_000 } })) as [TestLoader['loader']];
    expect(loader.log.level).toBe('info');
    const held = [ask(loader, 'a', { hold: 'true' }), ask(loader, 'b', { hold: 'true' })];
    await vi.waitFor(() => expect(configurableStats().held).toBe(2));
    await admin.config.push('live', '[log]\nlevel = "warn"\n[limits]\ncapacity = 2\n');
    await vi.waitFor(() => expect(loader.dataplane.admission.capacity).toBe(2));
    expect(loader.log.level).toBe('warn');
    expect(await codeOf(ask(loader, 'over'))).toBe(10110);
    configurableStats().release();
    expect(await Promise.all(held)).toEqual(['a', 'b']);
    await vi.waitFor(async () => expect((await admin.discovery.list('live'))[0]?.capacity).toBe(2));
  });

  it('refuses a push outside [wrapper], [limits], [log] or failing the schema, naming the key; nothing is stored', async () => {
    const outside = await aiges('config', 'push', 'refused', tomlFile('[plugin]\npath = "x"\n'));
    expect(outside.code).toBe(1);
    expect(outside.stderr).toBe(
      'aiges config push: key "plugin" cannot be pushed: a pushed config may hold only [wrapper], [limits], [log] (the rest is fixed at startup)\n',
    );
    const invalid = await aiges('config', 'push', 'refused', tomlFile('[limits]\ncapacity = "lots"\n'));
    expect(invalid.stderr).toMatch(/^aiges config push: invalid config key "limits.capacity": /);
    expect((await aiges('config', 'history', 'refused', '--json')).json()).toEqual({ service: 'refused', current: null, versions: [] });
    const none = await aiges('config', 'get', 'refused');
    expect([none.code, none.stderr]).toEqual([1, 'aiges config get: refused has no config version yet\n']);
  });
});
