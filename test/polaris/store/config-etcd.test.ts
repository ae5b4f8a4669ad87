/**
 * Config center against a real etcd (integration tier), driven through the `aiges config` and
 * `aiges services` CLI: a push reaches three running loaders and `status` shows each applied; a bad
 * [wrapper] leaves the old plugin set serving and `status` shows the error; rollback; gray release to
 * one instance; [log] level and [limits] capacity hot-applied; pushes refused before anything is stored.
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
  target: number | null;
  status?: { version: number; ok: boolean; error?: string };
}

describe('aiges config on etcd', () => {
  it('a push reaches 3 running loaders; status shows all applied; history and get show the version', async () => {
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
    expect(pushed.stdout).toBe('pushed three config version 1 (all instances)\n');
    await vi.waitFor(async () => expect(await Promise.all(loaders.map((l) => ask(l, 'x')))).toEqual(['v1:x', 'v1:x', 'v1:x']));
    expect(loaders.map((l) => l.dataplane.admission.capacity)).toEqual([9, 9, 9]);

    // Wait on the store itself (a CLI run per poll would cost a Node start each), then ask the CLI once.
    await vi.waitFor(async () => expect((await admin.config.status('three')).filter((s) => s.version === 1 && s.ok)).toHaveLength(3));
    const status = (await aiges('config', 'status', 'three', '--json')).json() as { current: number; instances: StatusRow[] };
    expect(status.instances.filter((r) => r.status?.ok === true && r.status.version === 1)).toHaveLength(3);
    expect(status.current).toBe(1);
    expect(status.instances.map((r) => r.instance).sort()).toEqual(loaders.map((l) => l.instanceId).sort());

    const text = await aiges('config', 'status', 'three');
    expect(text.stdout).toContain('three: current config version 1');
    for (const l of loaders) expect(text.stdout).toMatch(new RegExp(`${l.instanceId}\\s+1\\s+1\\s+ok`));
    const history = await aiges('config', 'history', 'three');
    expect(history.stdout).toMatch(/^\*\s+1\s+\S+\s+all instances\s+first push$/m);
    expect((await aiges('config', 'get', 'three')).stdout).toContain('prefix = "v1:"');

    const services = await aiges('services', 'ls', 'three');
    expect(services.stdout.split('\n')[0]).toMatch(/^SERVICE\s+VERSION\s+INSTANCE\s+ADDRESS\s+HTTP\s+CAPACITY\s+LOAD\s+AGE\s+LABELS$/);
    // LOAD: once calls + sessions / capacity, from each loader's own load stream.
    for (const l of loaders)
      expect(services.stdout).toMatch(
        new RegExp(`three\\s+1\\s+${l.instanceId}\\s+127\\.0\\.0\\.1:${l.grpcPort}\\s+\\S+\\s+9\\s+0\\+0/9\\s`),
      );
    const json = (await aiges('services', 'ls', 'three', '--json')).json() as { id: string; load: unknown }[];
    expect(json.map((r) => r.load)).toEqual(loaders.map(() => ({ inflight: 0, sessions: 0, capacity: 9 })));
  });

  it('a bad [wrapper] leaves the old plugin set serving and status shows the error; rollback restores', async () => {
    const [loader] = (await startLoaders('badwrap', 1, { wrapper: { prefix: 'start:' } })) as [TestLoader['loader']];
    await aiges('config', 'push', 'badwrap', tomlFile('[wrapper]\nprefix = "good:"\n'));
    await vi.waitFor(async () => expect(await ask(loader, 'x')).toBe('good:x'));
    const bad = await aiges('config', 'push', 'badwrap', tomlFile('[wrapper]\nfail = true\n'));
    expect(bad.code).toBe(0);
    await vi.waitFor(async () => expect((await admin.config.status('badwrap'))[0]).toMatchObject({ version: 2, ok: false }));
    const rows = (await aiges('config', 'status', 'badwrap', '--json')).json().instances as StatusRow[];
    expect(rows[0]?.status).toMatchObject({ version: 2, ok: false });
    expect(rows[0]?.status?.error).toMatch(/\[wrapper\] init failed; the previous plugin set keeps serving: .*configured to fail/);
    expect((await aiges('config', 'status', 'badwrap')).stdout).toMatch(/2\s+2\s+error: \[wrapper\] init failed/);
    expect(await ask(loader, 'still')).toBe('good:still');

    const back = await aiges('config', 'rollback', 'badwrap', '1');
    expect(back.stdout).toBe('badwrap: every instance now runs config version 1\n');
    await vi.waitFor(async () => expect((await admin.config.status('badwrap'))[0]).toMatchObject({ version: 1, ok: true }));
    expect(await ask(loader, 'x')).toBe('good:x');
    expect((await aiges('config', 'rollback', 'badwrap', '7')).stderr).toContain('badwrap has no config version 7');
  });

  it('a gray release reaches only the instance named', async () => {
    const [a, b] = (await startLoaders('gray', 2)) as [TestLoader['loader'], TestLoader['loader']];
    await admin.config.push('gray', '[wrapper]\nprefix = "all:"\n');
    await vi.waitFor(async () => expect([await ask(a, 'x'), await ask(b, 'x')]).toEqual(['all:x', 'all:x']));
    const canary = await aiges('config', 'push', 'gray', tomlFile('[wrapper]\nprefix = "canary:"\n'), '--instance', b.instanceId, '--json');
    expect(canary.json()).toMatchObject({ version: 2, instance: b.instanceId });
    await vi.waitFor(async () => expect(await ask(b, 'x')).toBe('canary:x'));
    expect(await ask(a, 'x')).toBe('all:x');
    const statuses = await admin.config.status('gray');
    expect(statuses.find((s) => s.instance === a.instanceId)?.version).toBe(1);
    expect(statuses.find((s) => s.instance === b.instanceId)?.version).toBe(2);
    expect((await aiges('config', 'get', 'gray', '--instance', b.instanceId, '--json')).json().version).toBe(2);
    expect((await aiges('config', 'get', 'gray', '--instance', a.instanceId, '--json')).json().version).toBe(1);
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
