/**
 * The rendered args and env are real: `aiges serve` started with a loader container's args and env
 * (and `aiges lb` with the balancer's) accepts them, registers in a real etcd under the pod's
 * name, answers the readiness probe's route, and the preStop command stops it cleanly; `aiges console`
 * starts with its args and the token file its Secret would hold. Where a
 * value only exists in a cluster it is substituted: the etcd Service → a local etcd, ports → 0,
 * the pod name → a literal, mounted files → their local copies, /opt/aiges → this checkout.
 * Integration tier: real etcd, real child processes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPT } from '../../../loader/tools/image/stage.js';
import { IMAGE_CONFIG } from '../../../loader/tools/deploy/loader-service.js';
import { CONSOLE_TOKENS, KEYS_FILE } from '../../../loader/tools/deploy/objects.js';
import { ROOT, runCli } from '../../cli/serve-process.js';
import { TestEtcd } from '../../polaris/etcd.js';
import { argAfter, find, type RenderedFleet, renderTestFleet } from './fleet.js';

interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
  readinessProbe: { httpGet: { path: string } };
  lifecycle: { preStop: { exec: { command: string[] } } };
}

const POD_NAME = 'loader-echo-5d8f7c9b4-x2x7q';

let fleet: RenderedFleet;
let etcd: TestEtcd;

beforeAll(async () => {
  [fleet, etcd] = await Promise.all([renderTestFleet(), TestEtcd.start()]);
}, 60_000);

afterAll(async () => {
  await etcd?.stop();
  rmSync(fleet.dir, { recursive: true, force: true });
});

const containerOf = (kind: string, name: string) =>
  (find(fleet.objects, kind, name)['spec'] as { template: { spec: { containers: Container[] } } }).template.spec.containers[0] as Container;

/** The args with each flag's value replaced where `values` names the flag. */
function substitute(args: string[], values: Record<string, string>): string[] {
  return args.map((arg, i) => {
    const flag = args[i - 1];
    return flag !== undefined && flag in values ? (values[flag] as string) : arg;
  });
}

describe('the rendered args and env, run', () => {
  it('start aiges serve, registered under the pod name and ready on the probed route; preStop drains it', async () => {
    const c = containerOf('Deployment', 'loader-echo');
    // The ConfigMap's aiges.toml, where the Deployment mounts it in the pod: the file --config names.
    const configMap = find(fleet.objects, 'ConfigMap', 'loader-echo-config')['data'] as Record<string, string>;
    const config = join(fleet.dir, 'aiges.toml');
    writeFileSync(config, configMap['aiges.toml'] ?? '');
    expect(c.args).toContain(IMAGE_CONFIG);
    const args = substitute(c.args, {
      '--config': config,
      '--host': '127.0.0.1',
      '--grpc-port': '0',
      '--http-port': '0',
      '--etcd': etcd.endpoint,
    });
    const env: Record<string, string> = {};
    for (const e of c.env) {
      if (e.valueFrom !== undefined) {
        expect(e.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
        env[e.name] = POD_NAME;
      } else env[e.name] = e.value === KEYS_FILE ? fleet.keysFile : (e.value ?? '');
    }
    expect(Object.keys(env).sort()).toEqual(['AIGES_AUTH_KEYS_FILE', 'AIGES_AUTH_MODE', 'AIGES_POLARIS_INSTANCE_ID']);

    const serve = runCli(['serve', ...args], env);
    try {
      const listening = await serve.waitForLog('listening');
      const registered = await serve.waitForLog('registered in polaris');
      expect(registered['instance']).toBe(POD_NAME);
      const ready = await fetch(`http://127.0.0.1:${listening['http_port']}${c.readinessProbe.httpGet.path}`);
      expect(ready.status).toBe(200);

      const [node, script] = c.lifecycle.preStop.exec.command as [string, string];
      expect(node).toBe('node');
      const drain = spawn(process.execPath, [script.replace(`${OPT}/`, ROOT), String(serve.proc.pid)], { stdio: 'inherit' });
      const [[drainCode], exit] = await Promise.all([once(drain, 'exit'), serve.exited]);
      expect(drainCode).toBe(0);
      expect(exit.code, serve.stderr()).toBe(0);
      expect(serve.logs.map((l) => l['msg'])).toEqual(expect.arrayContaining(['draining', 'stopped']));
    } finally {
      serve.proc.kill('SIGKILL');
    }
  }, 60_000);

  it('start aiges lb with AK/SK at the edge', async () => {
    const c = containerOf('Deployment', 'aiges-lb');
    const args = substitute(c.args, { '--etcd': etcd.endpoint, '--listen': '127.0.0.1:0', '--auth-keys-file': fleet.keysFile });
    const lb = runCli(args);
    try {
      await lb.waitForLog('balancer listening');
      lb.proc.kill('SIGTERM');
      expect((await lb.exited).code, lb.stderr()).toBe(0);
    } finally {
      lb.proc.kill('SIGKILL');
    }
  }, 60_000);

  it('start aiges console with its operator tokens from the Secret it mounts, ready on the probed route', async () => {
    const pod = (find(fleet.objects, 'Deployment', 'aiges-console')['spec'] as { template: { spec: ConsolePod } }).template.spec;
    const c = pod.containers[0] as ConsolePod['containers'][number];
    const volume = pod.volumes.find((v) => v.secret?.secretName === CONSOLE_TOKENS.secret);
    const mount = c.volumeMounts.find((m) => m.name === volume?.name);
    const tokenFile = argAfter(c.args, '--operator-token-file');
    expect(tokenFile).toBe(`${mount?.mountPath}/${CONSOLE_TOKENS.key}`);
    const tokens = join(fleet.dir, CONSOLE_TOKENS.key);
    writeFileSync(tokens, 'a-console-operator-token\n');
    const args = substitute(c.args, { '--etcd': etcd.endpoint, '--listen': '127.0.0.1:0', '--operator-token-file': tokens });
    const served = runCli(args);
    try {
      const listening = await served.waitForLog('console listening');
      const probe = await fetch(`http://127.0.0.1:${String(listening['port'])}${c.readinessProbe.httpGet.path}`);
      expect(probe.status).toBe(200);
      served.proc.kill('SIGTERM');
      expect((await served.exited).code, served.stderr()).toBe(0);
    } finally {
      served.proc.kill('SIGKILL');
    }
  }, 60_000);
});

interface ConsolePod {
  containers: (Container & { volumeMounts: { name: string; mountPath: string }[] })[];
  volumes: { name: string; secret?: { secretName: string } }[];
}
