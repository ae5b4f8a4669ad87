/**
 * `aiges polaris secure` and `aiges polaris loader-user` on a real etcd, every party a child
 * process with its own credential: a loader registers, serves behind `aiges lb` (balancer
 * credential) and applies the config the operator pushes, which `aiges console` on the operator's
 * credential shows (on the balancer's it shows the instances only); the loader's credential cannot push
 * config, register as another instance, or make keys; an anonymous client is refused; a balancer
 * reads but does not write; every refusal is one line. A second `secure` changes nothing.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestEtcd } from '../polaris/etcd.js';
import { notCamelCase } from './json-case.js';
import { runCli, runToExit, startServe } from './serve-process.js';

let etcd: TestEtcd;
const dir = mkdtempSync(join(tmpdir(), 'aiges-secure-'));
const rootFile = join(dir, 'root.password');
const creds = join(dir, 'creds');

beforeAll(async () => {
  etcd = await TestEtcd.start();
  writeFileSync(rootFile, 'root-secret\n', { mode: 0o600 });
}, 30_000);

afterAll(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const aiges = (args: string[], env: Record<string, string> = {}) => runToExit([...args, '--etcd', etcd.endpoint], env);
const admin = (...args: string[]) => aiges(['polaris', ...args, '--root-password-file', rootFile]);
const password = (file: string) => readFileSync(file, 'utf8').trim();
const as = (user: string, file: string) => ({ AIGES_POLARIS_USERNAME: user, AIGES_POLARIS_PASSWORD: password(file) });
const operator = () => as('aiges-operator', join(creds, 'aiges-operator.password'));
const balancer = () => as('aiges-balancer', join(creds, 'aiges-balancer.password'));

/** A refusal is one line on stderr, no stack, exit 1. */
function refused(r: { code: number | null; stderr: string }, line: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(line);
}

describe('aiges polaris', () => {
  it('secure turns authentication on with the operator and balancer users; a second run changes nothing', async () => {
    const first = await admin('secure', '--credentials-dir', creds, '--json');
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as { authWasOn: boolean; steps: { name: string; kind: string; change: string }[] };
    expect(notCamelCase(report)).toEqual([]);
    expect(report.authWasOn).toBe(false);
    expect(report.steps.map((s) => `${s.name} ${s.kind} ${s.change}`)).toEqual([
      'root user created',
      'aiges-operator role created',
      'aiges-operator user created',
      'aiges-balancer role created',
      'aiges-balancer user created',
      'authentication authentication created',
    ]);
    // The generated passwords went to the files (owner only), not to stdout.
    for (const user of ['aiges-operator', 'aiges-balancer']) {
      const file = join(creds, `${user}.password`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(first.stdout).not.toContain(password(file));
    }
    const before = password(join(creds, 'aiges-operator.password'));

    const again = await admin('secure', '--credentials-dir', creds, '--json');
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as typeof report;
    expect(second.authWasOn).toBe(true);
    expect(second.steps.every((s) => s.change === 'unchanged')).toBe(true);
    expect(password(join(creds, 'aiges-operator.password'))).toBe(before);

    refused(await aiges(['polaris', 'secure']), /^aiges polaris secure: root's password is needed: --root-password-file/);
    writeFileSync(join(dir, 'wrong.password'), 'nope\n');
    refused(
      await aiges(['polaris', 'secure', '--root-password-file', join(dir, 'wrong.password')]),
      /^aiges polaris secure: etcd refused: authentication failed for user "root" \(wrong user name or password\)$/,
    );
  });

  it('refuses a client without a user, in one line', async () => {
    refused(
      await aiges(['services', 'ls']),
      /^aiges services ls: etcd refused: authentication is on, and a client without a user may not read polaris\/services\/, to list instances: set \[polaris\] username/,
    );
    writeFileSync(join(dir, 'tuned.toml'), '[limits]\ncapacity = 9\n');
    refused(await aiges(['config', 'push', 'echo', join(dir, 'tuned.toml')]), /^aiges config push: etcd refused: authentication is on/);
  });

  it("runs a fleet on its credentials: a loader registers, serves through lb, applies the operator's config; each is refused the rest", async () => {
    const loaderFile = join(dir, 'e1.password');
    const issued = await admin('loader-user', 'echo', '--instance-id', 'e1', '--password-file', loaderFile);
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stdout).toContain(
      '\n[polaris]\nservice = "echo"\nservice_version = "1"\ninstance_id = "e1"\nusername = "aiges-loader/echo/e1"\n',
    );
    expect(statSync(loaderFile).mode & 0o777).toBe(0o600);
    expect(issued.stdout).not.toContain(password(loaderFile));
    const loader = as('aiges-loader/echo/e1', loaderFile);

    const serve = await startServe(['demo/echo', '--etcd', etcd.endpoint, '--set', 'polaris.instance_id=e1'], loader);
    const lb = runCli(['lb', '--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--service', 'echo'], balancer());
    // The loader's credential, under another instance's id: refused, and says so.
    const impostor = await startServe(['demo/echo', '--etcd', etcd.endpoint, '--set', 'polaris.instance_id=e2'], loader);
    try {
      await serve.waitForLog('registered in polaris');
      const refusal = await impostor.waitForLog('polaris refused the registration: serving standalone; trying again');
      // (pino appends etcd's own words, the error's cause, to the message.)
      expect((refusal['err'] as { message: string }).message).toMatch(
        /^etcd refused: permission denied \(user "aiges-loader\/echo\/e1" may not write polaris\/services\/echo\/1\/e2, to register\)/,
      );

      const port = Number((await lb.waitForLog('balancer listening'))['port']);
      await lb.waitForLog('instance admitted');
      const call = await runToExit(['call', `127.0.0.1:${port}`, 'echo', '--text', 'text=locked down']);
      expect(call.code, call.stderr).toBe(0);
      expect(JSON.parse(call.stdout).items[0].text).toBe('locked down');

      const listed = await aiges(['services', 'ls', 'echo', '--json'], balancer());
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as { id: string }[]).map((r) => r.id)).toEqual(['e1']);

      const pushed = await aiges(['config', 'push', 'echo', join(dir, 'tuned.toml')], operator());
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(pushed.stdout).toMatch(/^echo: config version 1 now current/);
      expect((await serve.waitForLog('config version applied'))['version']).toBe(1);
      const status = await aiges(['config', 'status', 'echo', '--json'], operator());
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout).instances).toEqual([expect.objectContaining({ instance: 'e1', running: 1, target: 1 })]);
      const created = await aiges(['keys', 'create', '--access-key', 'AKops'], operator());
      expect(created.code, created.stderr).toBe(0);

      refused(
        await aiges(['config', 'push', 'echo', join(dir, 'tuned.toml')], loader),
        /^aiges config push: etcd refused: permission denied \(user "aiges-loader\/echo\/e1" may not read and write polaris\/config\/echo\/, to push config\)$/,
      );
      refused(
        await aiges(['keys', 'create', '--access-key', 'AKmine'], loader),
        /^aiges keys create: etcd refused: permission denied \(user "aiges-loader\/echo\/e1" may not write polaris\/keys\/AKmine, to create an access key\)$/,
      );
      refused(
        await aiges(['config', 'push', 'echo', join(dir, 'tuned.toml')], balancer()),
        /^aiges config push: etcd refused: permission denied \(user "aiges-balancer" may not read and write polaris\/config\/echo\/, to push config\)$/,
      );
      refused(await aiges(['keys', 'ls'], balancer()), /permission denied \(user "aiges-balancer" may not read polaris\/keys\//);

      // The console takes etcd credentials as every polaris verb does: with the operator's it sees
      // and shows everything; with the balancer's it lists the instances, and etcd refuses the rest.
      writeFileSync(join(dir, 'console.tokens'), 'console-operator-token\n');
      const consoleAs = async (env: Record<string, string>) => {
        const cli = runCli(
          ['console', '--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--operator-token-file', join(dir, 'console.tokens')],
          env,
        );
        const base = `http://127.0.0.1:${String((await cli.waitForLog('console listening'))['port'])}`;
        const get = async (path: string) => {
          const res = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer console-operator-token' } });
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        return { cli, get };
      };
      for (const [who, env] of [
        ['operator', operator()],
        ['balancer', balancer()],
      ] as const) {
        const { cli, get } = await consoleAs(env);
        try {
          // The fleet arrives from the console's watch, a moment after it listens.
          await expect
            .poll(async () => (await get('/api/fleet')).body['instances'])
            .toEqual([expect.objectContaining({ id: 'e1', service: 'echo' })]);
          const config = await get('/api/config/echo');
          if (who === 'operator')
            expect(config.body).toMatchObject({ current: 1, instances: [expect.objectContaining({ instance: 'e1', running: 1 })] });
          else {
            expect(config.status).toBe(502);
            expect(config.body).toMatchObject({
              code: 'CONSOLE_POLARIS',
              message: expect.stringMatching(/permission denied \(user "aiges-balancer"/),
            });
          }
        } finally {
          cli.proc.kill('SIGTERM');
          await cli.exited;
        }
      }
    } finally {
      for (const p of [serve, lb, impostor]) p.proc.kill('SIGTERM');
      await Promise.all([serve.exited, lb.exited, impostor.exited]);
    }
    // Stopped, the loader deregistered itself (revoking its lease needs write on its keys: it has it).
    expect(serve.logs.some((l) => l['msg'] === 'deregistered from polaris')).toBe(true);
    // The impostor's registration was never in place: it says so instead.
    expect(impostor.logs.map((l) => l['msg'])).toContain('stopped registering in polaris (the registration was not in place)');
    expect(impostor.logs.some((l) => l['msg'] === 'deregistered from polaris')).toBe(false);
    const after = await aiges(['services', 'ls', 'echo', '--json'], operator());
    expect(JSON.parse(after.stdout)).toEqual([]);
  }, 60_000);

  it("users ls shows what each user may touch; users rm takes a loader's credential away", async () => {
    const ls = await admin('users', 'ls', '--json');
    expect(ls.code, ls.stderr).toBe(0);
    const users = JSON.parse(ls.stdout) as { name: string; roles: { name: string; permissions: { type: string; key: string }[] }[] }[];
    expect(notCamelCase(users)).toEqual([]);
    expect(users.map((u) => u.name)).toEqual(['aiges-balancer', 'aiges-loader/echo/e1', 'aiges-operator', 'root']);
    expect(users.find((u) => u.name === 'aiges-balancer')?.roles[0]?.permissions).toEqual([
      { type: 'Read', key: 'polaris/services/', prefix: true },
    ]);

    const rm = await admin('users', 'rm', 'aiges-loader/echo/e1');
    expect(rm.code, rm.stderr).toBe(0);
    refused(
      await aiges(['config', 'get', 'echo'], as('aiges-loader/echo/e1', join(dir, 'e1.password'))),
      /^aiges config get: etcd refused: authentication failed for user "aiges-loader\/echo\/e1"/,
    );
    refused(await admin('users', 'rm', 'root'), /^aiges polaris users rm: root is never removed/);
    expect((await admin('users', 'ls')).stdout).not.toContain('aiges-loader/echo/e1');
  });
});
