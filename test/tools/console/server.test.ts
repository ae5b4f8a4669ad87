/**
 * The console's HTTP API (adapter tier: fastify inject) over a real etcd and real in-process
 * loaders: who may see and change what, and that changes go through the rules of `aiges config` and
 * `aiges keys` — a bad version is refused naming its line and stores nothing, a push is applied by
 * every instance, a rollback points them back, a key's secret is shown once.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPolaris } from '../../../loader/cli/polaris-flags.js';
import { instanceClient } from '../../../loader/cli/services.js';
import { ConsoleAuth } from '../../../loader/tools/console/auth.js';
import { type Console, createConsole } from '../../../loader/tools/console/console.js';
import type { FleetView } from '../../../loader/tools/console/fleet.js';
import type { EtcdPolaris } from '../../../polaris/store/polaris-etcd.js';
import { TestEtcd } from '../../polaris/etcd.js';
import { startTestLoader, type TestLoader } from '../../polaris/helpers.js';
import { item } from '../../../plugins/testing.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';
const SERVICE = 'console-api';

let etcd: TestEtcd;
let polaris: EtcdPolaris;
let served: Console;
let app: FastifyInstance;
const loaders: TestLoader[] = [];

const as = (token: string) => ({ authorization: `Bearer ${token}` });
const json = { 'content-type': 'application/json' };

/** Resolves once the console's fleet view satisfies `test` (its own change events, not a sleep). */
function fleetWhere(test: (view: FleetView) => boolean): Promise<FleetView> {
  const now = served.fleet.view();
  if (test(now)) return Promise.resolve(now);
  return new Promise((resolve) => {
    const off = served.fleet.onChange((view) => {
      if (!test(view)) return;
      off();
      resolve(view);
    });
  });
}

beforeAll(async () => {
  etcd = await TestEtcd.start();
  for (const token of ['a', 'b']) {
    loaders.push(await startTestLoader({ polaris: { endpoints: [etcd.endpoint], service: SERVICE, ttl_s: 2 }, wrapper: { token } }));
  }
  polaris = openPolaris({ etcd: etcd.endpoint });
  served = await createConsole({
    polaris,
    auth: new ConsoleAuth({ operatorTokens: [OPERATOR], viewerTokens: [VIEWER], anonymous: false }),
    open: instanceClient({}, 'CONSOLE_BAD_ARGUMENT'),
    scrapeIntervalMs: 200,
    pushTimeoutMs: 10_000,
  });
  await served.start();
  app = served.app;
});

afterAll(async () => {
  await served?.close();
  await polaris?.close();
  await Promise.all(loaders.map((l) => l.loader.stop()));
  await etcd?.stop();
});

describe('aiges console API: login and roles', () => {
  it('refuses every /api/ route without a login, and a token that is neither role', async () => {
    for (const url of ['/api/fleet', `/api/config/${SERVICE}`, '/api/keys', '/api/metrics']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().code).toBe('CONSOLE_LOGIN_REQUIRED');
    }
    const bad = await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { token: 'nope-nope-nope-nope' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe('CONSOLE_BAD_LOGIN');
    expect((await app.inject({ url: '/api/me' })).json()).toEqual({ role: null, anonymous: false });
  });

  it('logs in with a token into an HttpOnly SameSite=Strict session that carries the role, never the token', async () => {
    const login = await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { token: VIEWER } });
    expect(login.json()).toEqual({ role: 'viewer' });
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/^aiges_console=[\w-]{20,};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain(VIEWER);
    const session = cookie.split(';')[0] ?? '';
    expect((await app.inject({ url: '/api/me', headers: { cookie: session } })).json().role).toBe('viewer');
    expect((await app.inject({ url: '/api/fleet', headers: { cookie: session } })).statusCode).toBe(200);
    await app.inject({ method: 'POST', url: '/api/logout', headers: { ...json, cookie: session }, payload: {} });
    expect((await app.inject({ url: '/api/fleet', headers: { cookie: session } })).statusCode).toBe(401);
  });

  it('a viewer sees everything and the server refuses each of its changes with 403 CONSOLE_READ_ONLY, storing nothing', async () => {
    const before = (await app.inject({ url: `/api/config/${SERVICE}`, headers: as(VIEWER) })).json();
    const keysBefore = (await app.inject({ url: '/api/keys', headers: as(VIEWER) })).json();
    const changes = [
      { method: 'POST' as const, url: `/api/config/${SERVICE}/push`, payload: { toml: '[limits]\ncapacity = 9\n' } },
      { method: 'POST' as const, url: `/api/config/${SERVICE}/rollback`, payload: { version: 1 } },
      { method: 'POST' as const, url: '/api/keys', payload: { note: 'viewer' } },
      { method: 'DELETE' as const, url: '/api/keys/AKanything' },
    ];
    for (const c of changes) {
      const res = await app.inject({ ...c, headers: { ...as(VIEWER), ...json } });
      expect(res.statusCode, c.url).toBe(403);
      expect(res.json().code).toBe('CONSOLE_READ_ONLY');
    }
    expect((await app.inject({ url: `/api/config/${SERVICE}`, headers: as(VIEWER) })).json().versions).toEqual(before.versions);
    expect((await app.inject({ url: '/api/keys', headers: as(VIEWER) })).json()).toEqual(keysBefore);
  });

  it('refuses an operator change that is not same-origin JSON (CSRF guard)', async () => {
    const plain = await app.inject({
      method: 'POST',
      url: `/api/config/${SERVICE}/rollback`,
      headers: { ...as(OPERATOR), 'content-type': 'text/plain' },
      payload: '{"version":1}',
    });
    expect(plain.statusCode).toBe(403);
    expect(plain.json().code).toBe('CONSOLE_CROSS_SITE');
    const foreign = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: { ...as(OPERATOR), ...json, origin: 'http://evil.example', host: 'console.local' },
      payload: { note: 'x' },
    });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().code).toBe('CONSOLE_CROSS_SITE');
  });

  it('--anonymous lets a visitor in as a viewer, still refused every change', async () => {
    const anon = await createConsole({
      polaris,
      auth: new ConsoleAuth({ operatorTokens: [OPERATOR], viewerTokens: [], anonymous: true }),
      open: instanceClient({}, 'CONSOLE_BAD_ARGUMENT'),
    });
    try {
      expect((await anon.app.inject({ url: '/api/me' })).json()).toEqual({ role: 'viewer', anonymous: true });
      expect((await anon.app.inject({ url: `/api/config/${SERVICE}` })).statusCode).toBe(200);
      const push = await anon.app.inject({ method: 'POST', url: `/api/config/${SERVICE}/push`, headers: json, payload: { toml: '' } });
      expect(push.statusCode).toBe(403);
      expect(push.json().code).toBe('CONSOLE_READ_ONLY');
    } finally {
      await anon.close();
    }
  });
});

describe('aiges console API: the fleet, its config and keys', () => {
  it('shows every live instance with its registration and live load', async () => {
    const view = await fleetWhere((v) => v.instances.length === 2 && v.instances.every((i) => i.load !== null));
    const res = await app.inject({ url: '/api/fleet', headers: as(VIEWER) });
    expect(
      res
        .json()
        .instances.map((i: { id: string }) => i.id)
        .sort(),
    ).toEqual(view.instances.map((i) => i.id).sort());
    for (const i of view.instances) {
      expect(i).toMatchObject({ service: SERVICE, state: 'ready', reasons: [], load: { inflight: 0, sessions: 0, ready: true } });
      expect(i.load?.capacity).toBe(i.capacity);
    }
  });

  it('refuses a version aiges config push would refuse, naming the key and its line; nothing is stored', async () => {
    const cases = [
      { toml: '[limits]\ncapacity = 8\n\n[server]\ngrpc_port = 1\n', line: 4, key: 'server' },
      { toml: '[log]\nlevel = "info"\n[limits]\ncapacity = "many"\n', line: 4, key: 'limits.capacity' },
      { toml: '[limits]\ncapacity = \n', line: 2, key: 'TOML' },
    ];
    for (const c of cases) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/config/${SERVICE}/push`,
        headers: { ...as(OPERATOR), ...json },
        payload: { toml: c.toml },
      });
      expect(res.statusCode, c.toml).toBe(400);
      const body = res.json();
      expect(body.code).toBe('CONSOLE_INVALID_CONFIG');
      expect(body.message).toContain(c.key);
      expect(body.line, c.toml).toBe(c.line);
    }
    expect((await app.inject({ url: `/api/config/${SERVICE}`, headers: as(VIEWER) })).json()).toMatchObject({
      current: null,
      versions: [],
    });
  });

  it('a push is applied by every instance and becomes current; a failing one never does; rollback points every instance back', async () => {
    const push = (toml: string, extra: Record<string, unknown> = {}) =>
      app.inject({
        method: 'POST',
        url: `/api/config/${SERVICE}/push`,
        headers: { ...as(OPERATOR), ...json },
        payload: { toml, ...extra },
      });
    const first = await push('[limits]\ncapacity = 7\n', { note: 'seven' });
    expect(first.statusCode).toBe(200);
    expect(first.json().version).toMatchObject({ version: 1, state: 'good', note: 'seven' });
    expect(first.json().instances.map((t: { result: string }) => t.result)).toEqual(['applied', 'applied']);
    // The live load shows the new capacity: the loaders applied it.
    await fleetWhere((v) => v.instances.every((i) => i.load?.capacity === 7));

    const bad = await push('[wrapper]\nfail = true\n');
    expect(bad.json().version).toMatchObject({ version: 2, state: 'failed' });

    const second = await push('[limits]\ncapacity = 5\n');
    expect(second.json().version).toMatchObject({ version: 3, state: 'good' });
    let config = (await app.inject({ url: `/api/config/${SERVICE}`, headers: as(VIEWER) })).json();
    expect(config.current).toBe(3);
    expect(config.instances.map((r: { running: number }) => r.running)).toEqual([3, 3]);

    const rollback = await app.inject({
      method: 'POST',
      url: `/api/config/${SERVICE}/rollback`,
      headers: { ...as(OPERATOR), ...json },
      payload: { version: 1 },
    });
    expect(rollback.json()).toEqual({ service: SERVICE, current: 1 });
    await fleetWhere((v) => v.instances.every((i) => i.load?.capacity === 7));
    config = (await app.inject({ url: `/api/config/${SERVICE}`, headers: as(VIEWER) })).json();
    expect(config.current).toBe(1);
    expect(config.versions.map((v: { state: string }) => v.state)).toEqual(['good', 'failed', 'good']);

    const failed = await app.inject({
      method: 'POST',
      url: `/api/config/${SERVICE}/rollback`,
      headers: { ...as(OPERATOR), ...json },
      payload: { version: 2 },
    });
    expect(failed.statusCode).toBe(400);
    expect(failed.json().message).toContain('never run again');
  });

  it('gray release: a version pushed to one instance runs there only', async () => {
    const [one, other] = served.fleet.view().instances.map((i) => i.id);
    const res = await app.inject({
      method: 'POST',
      url: `/api/config/${SERVICE}/push`,
      headers: { ...as(OPERATOR), ...json },
      payload: { toml: '[limits]\ncapacity = 3\n', instance: one },
    });
    expect(res.json().version).toMatchObject({ instance: one, state: 'good' });
    const view = await fleetWhere((v) => v.instances.find((i) => i.id === one)?.load?.capacity === 3);
    expect(view.instances.find((i) => i.id === other)?.load?.capacity).toBe(7);
  });

  it('creates a key showing its secret once, lists keys without secrets, revokes', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: { ...as(OPERATOR), ...json },
      payload: { services: 'echo, asr', rate: '20', note: 'team A' },
    });
    expect(created.statusCode).toBe(200);
    const key = created.json();
    expect(key).toMatchObject({ services: ['echo', 'asr'], rate: 20, note: 'team A' });
    expect(Buffer.from(key.secretKey, 'base64')).toHaveLength(32);
    const listed = (await app.inject({ url: '/api/keys', headers: as(VIEWER) })).json();
    expect(listed).toEqual([{ accessKey: key.accessKey, services: ['echo', 'asr'], rate: 20, createdAt: key.createdAt, note: 'team A' }]);
    expect(JSON.stringify(listed)).not.toContain(key.secretKey);
    const bad = await app.inject({ method: 'POST', url: '/api/keys', headers: { ...as(OPERATOR), ...json }, payload: { rate: -1 } });
    expect(bad.statusCode).toBe(400);
    const revoked = await app.inject({ method: 'DELETE', url: `/api/keys/${key.accessKey}`, headers: as(OPERATOR) });
    expect(revoked.json()).toEqual({ revoked: key.accessKey });
    expect((await app.inject({ url: '/api/keys', headers: as(VIEWER) })).json()).toEqual([]);
    const again = await app.inject({ method: 'DELETE', url: `/api/keys/${key.accessKey}`, headers: as(OPERATOR) });
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('CONSOLE_NOT_FOUND');
  });
});

describe('aiges console API: not ready, and why', () => {
  it('shows a loader whose plugin process crashed as not ready, with the reason the loader gives', async () => {
    const faults = await startTestLoader({
      plugin: { path: 'test/fixtures/plugins/process-faults.ts', isolation: 'process' },
      polaris: { endpoints: [etcd.endpoint], service: 'console-faults', ttl_s: 2 },
    });
    loaders.push(faults);
    const id = faults.loader.instanceId;
    await fleetWhere((v) => v.instances.some((i) => i.id === id && i.state === 'ready'));
    const down = fleetWhere((v) => v.instances.some((i) => i.id === id && i.state === 'not-ready' && i.reasons.length > 0));
    await expect(
      faults.loader.dataplane.infer({ service: 'faults', params: {}, headers: {}, items: [item('text', 'abort')] }),
    ).rejects.toThrow();
    const seen = (await down).instances.find((i) => i.id === id);
    expect(seen?.reasons.join('; ')).toMatch(/plugin process down/);
    // It restarts and is ready again: the console follows it back.
    await fleetWhere((v) => v.instances.some((i) => i.id === id && i.state === 'ready'));
  });
});
