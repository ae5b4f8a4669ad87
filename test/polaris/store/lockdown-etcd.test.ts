/**
 * Polaris locked down, on a real etcd with authentication on (polaris/store/lockdown-etcd.ts,
 * roles.ts): each party's credential does what its code needs and nothing more. A loader registers,
 * reports its config status and deregisters (its lease revoked), reads its config and, when issued
 * with `keys`, the access keys; it cannot push config, register as another instance, or touch the
 * keys. A balancer reads instances only; an anonymous client nothing; the operator everything
 * under polaris/. Securing and issuing again changes nothing.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EtcdAuthAdmin } from '../../../polaris/store/auth-etcd.js';
import { isRefusal } from '../../../polaris/store/etcd-errors.js';
import { issueLoader, secure } from '../../../polaris/store/lockdown-etcd.js';
import { EtcdPolaris } from '../../../polaris/store/polaris-etcd.js';
import { BALANCER, loaderUser, OPERATOR } from '../../../polaris/store/roles.js';
import type { InstanceRecord, StoredKey } from '../../../polaris/store/types.js';
import { TestEtcd } from '../etcd.js';

const ROOT_PASSWORD = 'root-secret';
let etcd: TestEtcd;
let passwords: Record<string, string>;
const opened: EtcdPolaris[] = [];

let counter = 0;
const generate = () => `generated-${++counter}`;

function as(username: string | undefined, password?: string): EtcdPolaris {
  const polaris = new EtcdPolaris({
    endpoints: [etcd.endpoint],
    ...(username === undefined ? {} : { username, password: password ?? passwords[username] ?? '' }),
    ttlS: 2,
  });
  opened.push(polaris);
  return polaris;
}

function record(id: string): InstanceRecord {
  return {
    id,
    service: 'echo',
    version: '1',
    address: '127.0.0.1:1',
    httpAddress: '127.0.0.1:2',
    protocols: ['grpc'],
    capacity: 1,
    labels: {},
    startedAt: new Date().toISOString(),
  };
}

const key = (accessKey: string): StoredKey => ({
  accessKey,
  secretKey: Buffer.alloc(32, 7).toString('base64'),
  createdAt: new Date().toISOString(),
  note: '',
});

beforeAll(async () => {
  etcd = await TestEtcd.start();
  const at = { endpoints: [etcd.endpoint] };
  const secured = await secure(at, { rootPassword: ROOT_PASSWORD, passwords: {}, generate });
  expect(secured.authWasOn).toBe(false);
  passwords = Object.fromEntries(secured.steps.filter((s) => s.generated !== undefined).map((s) => [s.name, s.generated!]));
  for (const [instance, keys] of [
    ['e1', false],
    ['e2', true],
  ] as const) {
    const issued = await issueLoader(
      at,
      { service: 'echo', version: '1', instance, keys },
      { rootPassword: ROOT_PASSWORD, rotate: false, generate },
    );
    passwords[issued.user] = issued.steps.find((s) => s.generated !== undefined)!.generated!;
  }
}, 30_000);

afterAll(async () => {
  await Promise.all(opened.map((p) => p.close()));
  await etcd?.stop();
});

describe('polaris locked down', () => {
  it('made the operator and balancer users with generated passwords, and turned authentication on', () => {
    expect(Object.keys(passwords).sort()).toEqual([BALANCER, OPERATOR, loaderUser('echo', 'e1'), loaderUser('echo', 'e2')].sort());
  });

  it('refuses an anonymous client every read and write, and names what was refused', async () => {
    const raw = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      await expect(raw.get('polaris/services/echo/1/e1').string()).rejects.toThrow(/user name is empty/);
      await expect(raw.put('polaris/services/echo/1/e1').value('x')).rejects.toThrow(/user name is empty/);
    } finally {
      raw.close();
    }
    const anonymous = as(undefined);
    const refused = await anonymous.discovery.list('echo').catch((err: unknown) => err);
    expect(isRefusal(refused)).toBe(true);
    expect((refused as Error).message).toBe(
      'etcd refused: authentication is on, and a client without a user may not read polaris/services/echo/, to list instances: set [polaris] username and password, or AIGES_POLARIS_USERNAME and AIGES_POLARIS_PASSWORD',
    );
    await expect(anonymous.config.push('echo', '[limits]\ncapacity = 2\n')).rejects.toThrow(/^etcd refused: authentication is on/);
  });

  it('lets a loader register, report its status and deregister; the operator sees both, the balancer the instance', async () => {
    const loader = as(loaderUser('echo', 'e1'));
    const operator = as(OPERATOR);
    const balancer = as(BALANCER);
    const registration = await loader.registry.register(record('e1'));
    expect(registration.state).toBe('registered');
    await loader.config.reportStatus('echo', { instance: 'e1', version: 1, ok: true, appliedAt: new Date().toISOString() });
    expect((await operator.config.status('echo')).map((s) => s.instance)).toEqual(['e1']);
    expect((await balancer.discovery.list('echo')).map((r) => r.id)).toEqual(['e1']);
    const seen: string[][] = [];
    const watcher = await balancer.discovery.watch('echo', (list) => seen.push(list.map((r) => r.id)));
    await vi.waitFor(() => expect(seen.at(-1)).toEqual(['e1']));
    // Revoking the lease takes write permission on every key under it: the loader has it for its own.
    await registration.deregister();
    expect(await operator.discovery.list('echo')).toEqual([]);
    expect(await operator.config.status('echo')).toEqual([]);
    await vi.waitFor(() => expect(seen.at(-1)).toEqual([]));
    watcher.close();
  });

  it("lets a loader read its service's config, which only the operator pushes", async () => {
    const loader = as(loaderUser('echo', 'e1'));
    const operator = as(OPERATOR);
    const pushed = await operator.config.push('echo', '[limits]\ncapacity = 3\n', { timeoutMs: 60_000 });
    expect((await loader.config.get('echo', { instance: 'e1' }))?.version).toBe(pushed.version);
    const offered: (number | undefined)[] = [];
    const watcher = await loader.config.watch('echo', 'e1', (c) => offered.push(c?.version));
    await vi.waitFor(() => expect(offered).toEqual([pushed.version]));
    watcher.close();
    await operator.config.rollback('echo', pushed.version);
    expect((await loader.config.current('echo'))?.version).toBe(pushed.version);
  });

  it('refuses a loader a config push, another instance key, the access keys, and another service', async () => {
    const loader = as(loaderUser('echo', 'e1'));
    await expect(loader.config.push('echo', '[limits]\ncapacity = 4\n')).rejects.toThrow(
      'etcd refused: permission denied (user "aiges-loader/echo/e1" may not read and write polaris/config/echo/, to push config)',
    );
    await expect(loader.config.rollback('echo', 1)).rejects.toThrow(/permission denied .* to roll config back/);
    const other = await loader.registry.register(record('e2'));
    expect(other.state).toBe('pending');
    expect(isRefusal(other.error)).toBe(true);
    expect(other.error?.message).toMatch(/user "aiges-loader\/echo\/e1" may not write polaris\/services\/echo\/1\/e2, to register/);
    await other.deregister();
    await expect(loader.keys.create(key('AKloader'))).rejects.toThrow(/may not write polaris\/keys\/AKloader, to create an access key/);
    await expect(loader.keys.list()).rejects.toThrow(/may not read polaris\/keys\//);
    await expect(loader.config.get('asr')).rejects.toThrow(/may not read polaris\/config\/asr\//);
    const raw = new Etcd3({
      hosts: [etcd.endpoint],
      auth: { username: loaderUser('echo', 'e1'), password: passwords[loaderUser('echo', 'e1')]! },
    });
    try {
      await expect(raw.put('polaris/config/echo/versions/99').value('{}')).rejects.toThrow(/permission denied/);
      await expect(raw.put('polaris/config/echo/status/e2').value('{}')).rejects.toThrow(/permission denied/);
    } finally {
      raw.close();
    }
  });

  it('tells a watch of the keys why it is refused; a loader issued with keys follows them', async () => {
    const errors: string[] = [];
    const without = await as(loaderUser('echo', 'e1')).keys.watch(
      () => undefined,
      (err) => errors.push(err.message),
    );
    await vi.waitFor(() =>
      expect(errors[0]).toBe(
        'etcd refused: permission denied (user "aiges-loader/echo/e1" may not read polaris/keys/, to follow the access keys)',
      ),
    );
    without.close();
    const seen: string[][] = [];
    const withKeys = await as(loaderUser('echo', 'e2')).keys.watch((keys) => seen.push(keys.map((k) => k.accessKey)));
    await as(OPERATOR).keys.create(key('AKfleet'));
    await vi.waitFor(() => expect(seen.at(-1)).toEqual(['AKfleet']));
    withKeys.close();
  });

  it('lets a balancer read the instances and nothing else', async () => {
    const balancer = as(BALANCER);
    const registration = await balancer.registry.register(record('lb-1'));
    expect(registration.state).toBe('pending');
    expect(registration.error?.message).toMatch(/user "aiges-balancer" may not write polaris\/services\/echo\/1\/lb-1/);
    await registration.deregister();
    await expect(balancer.keys.list()).rejects.toThrow(/aiges-balancer" may not read polaris\/keys\//);
    await expect(balancer.config.get('echo')).rejects.toThrow(/aiges-balancer" may not read polaris\/config\/echo\//);
  });

  it('refuses a wrong password as such', async () => {
    await expect(as(OPERATOR, 'wrong').discovery.list()).rejects.toThrow(
      'etcd refused: authentication failed for user "aiges-operator" (wrong user name or password)',
    );
  });

  it('changes nothing when secured and issued again, and puts a role back to exactly its permissions', async () => {
    const at = { endpoints: [etcd.endpoint] };
    const again = await secure(at, {
      rootPassword: ROOT_PASSWORD,
      passwords: { operator: passwords[OPERATOR], balancer: passwords[BALANCER] },
      generate,
    });
    expect(again.authWasOn).toBe(true);
    expect(again.steps.map((s) => s.change)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    const e1 = loaderUser('echo', 'e1');
    const raw = new Etcd3({ hosts: [etcd.endpoint], auth: { username: 'root', password: ROOT_PASSWORD } });
    try {
      // A hand-made extra grant is taken back; the loader keeps its password.
      await raw.role(e1).grant({ permission: 'Write', key: 'polaris/keys/AKsneaky' });
      const issued = await issueLoader(
        at,
        { service: 'echo', version: '1', instance: 'e1', keys: false },
        { rootPassword: ROOT_PASSWORD, rotate: false, generate },
      );
      expect(issued.steps.map((s) => s.change)).toEqual(['updated', 'unchanged']);
      expect(issued.steps.some((s) => s.generated !== undefined)).toBe(false);
      expect((await new EtcdAuthAdmin(raw).permissions(e1)).map((p) => p.key)).not.toContain('polaris/keys/AKsneaky');
    } finally {
      raw.close();
    }
    expect((await as(e1).config.get('echo'))?.state).toBe('good');
  });

  it('lets the balancer read the access keys with balancerKeys (aiges lb --auth aksk), and takes that back without', async () => {
    const at = { endpoints: [etcd.endpoint] };
    const options = { rootPassword: ROOT_PASSWORD, passwords: { operator: passwords[OPERATOR], balancer: passwords[BALANCER] }, generate };
    const withKeys = await secure(at, { ...options, balancerKeys: true });
    expect(withKeys.steps.find((s) => s.name === BALANCER && s.kind === 'role')?.change).toBe('updated');
    await as(OPERATOR).keys.create(key('AKedge'));
    expect((await as(BALANCER).keys.list()).map((k) => k.accessKey)).toContain('AKedge');
    await expect(as(BALANCER).config.get('echo')).rejects.toThrow(/may not read polaris\/config\/echo\//);

    await secure(at, options);
    await expect(as(BALANCER).keys.list()).rejects.toThrow(/aiges-balancer" may not read polaris\/keys\//);
  });
});
