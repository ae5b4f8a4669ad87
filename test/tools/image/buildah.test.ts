/**
 * Base and business images built and run for real, with no registry and no docker daemon:
 * a local "upstream" root from this machine's Node runtime (docker/local-root.sh), the CPU base
 * image FROM it through the BASE build argument, business images FROM that (demo/echo with a
 * generated Dockerfile; native-echo's prebuilt .so with the project's own contract Dockerfile),
 * each run as its image config says (ENTRYPOINT + CMD, USER 10001, WORKDIR) with a real gRPC
 * call, /v2/health/ready, the image's HEALTHCHECK command, and SIGTERM → exit 0. The CUDA
 * variant is built FROM the same root (no CUDA libraries in it) and its CLI run.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLoaderClient, infer } from '../../../loader/tools/client.js';
import { businessDockerfile } from '../../../loader/tools/image/dockerfile.js';
import { packageVersion } from '../../../loader/tools/image/stage.js';
import { DataStatus, DataType } from '../../../plugins/types.js';
import { ROOT, runToExit } from '../../cli/serve-process.js';
import { freePort, requireBuildah, Store, type ImageConfig } from './store.js';

const ROOT_IMAGE = 'localhost/aiges-test/node-root:1';
const BASE = 'localhost/aiges-test/base:cpu';
let store: Store;

beforeAll(async () => {
  requireBuildah();
  store = new Store();
  const root = spawnSync(join(ROOT, 'docker', 'local-root.sh'), [ROOT_IMAGE, ...store.global], { encoding: 'utf8' });
  expect(root.status, root.stderr).toBe(0);
  const base = await runToExit(['image', 'base', '--variant', 'cpu', '--from', ROOT_IMAGE, '--tag', BASE, ...store.flags]);
  expect(base.code, base.stderr).toBe(0);
}, 300_000);

// Removing a vfs store of several images rewrites every layer's files: slow on a busy disk.
afterAll(() => store?.cleanup(), 300_000);

function expectContract(config: ImageConfig) {
  expect(config.User).toBe('10001:10001');
  expect(config.WorkingDir).toBe('/home/aiges');
  expect(config.Entrypoint).toEqual(['aiges', 'serve']);
  expect(config.Cmd).toEqual(['--config', '/home/aiges/plugin/aiges.toml']);
  expect(Object.keys(config.ExposedPorts ?? {}).sort()).toEqual(['5090/tcp', '8080/tcp']);
  expect(config.Healthcheck?.Test).toEqual(['CMD', 'node', '/opt/aiges/dist/loader/tools/image/healthcheck.js']);
}

/**
 * Runs the image as its config says, calls `service` once over gRPC with text "hello image",
 * expects `output` ([key, text] pairs), checks health, stops it with SIGTERM.
 */
async function serveAndCall(image: string, service: string, output: [string, string][] = [['text', 'hello image']]) {
  const config = store.config(image);
  expectContract(config);
  const ctr = store.container(image);
  const who = store.exec(ctr, ['node', '-e', 'console.log(process.getuid() + " " + process.cwd())']);
  expect(who.stdout.trim()).toBe('10001 /home/aiges');

  // The image's ports through the environment, as `docker run -e` would set them.
  const env = {
    AIGES_SERVER_HOST: '127.0.0.1',
    AIGES_SERVER_GRPC_PORT: String(await freePort()),
    AIGES_SERVER_HTTP_PORT: String(await freePort()),
  };
  const running = store.start(ctr, config, env);
  // A loader starting in the container (a Node start, the plugin loaded through tsx, under buildah
  // run): seconds on a loaded machine, so a bound of its own rather than waitFor's 1 s.
  await vi.waitFor(() => expect(running.log('ready'), running.stderr).toBeDefined(), { timeout: 60_000 });

  const client = createLoaderClient(`127.0.0.1:${env.AIGES_SERVER_GRPC_PORT}`);
  try {
    const text = { key: 'text', type: DataType.TEXT, status: DataStatus.ONCE, encoding: 'utf8', data: Buffer.from('hello image') };
    const res = await infer(client, { service, items: [text] }, 10_000);
    expect(res.items.map((i) => [i.key, i.data.toString()])).toEqual(output);
  } finally {
    client.close();
  }
  const ready = await fetch(`http://127.0.0.1:${env.AIGES_SERVER_HTTP_PORT}/v2/health/ready`);
  expect(ready.status).toBe(200);
  const health = store.exec(ctr, (config.Healthcheck?.Test ?? []).slice(1), env);
  expect(health.status, health.stderr).toBe(0);

  process.kill(running.loaderPid(), 'SIGTERM');
  expect(await running.exited, running.stderr).toBe(0);
  expect(running.log('stopped')).toBeDefined();
  const after = store.exec(ctr, (config.Healthcheck?.Test ?? []).slice(1), env);
  expect(after.status).toBe(1);
}

/** `aiges new` → host build step → `aiges image build` (the scaffold's Dockerfile) → serve and call. */
async function scaffoldedImage(name: string, lang: string, buildOnHost: (project: string) => void) {
  const parent = mkdtempSync(join(tmpdir(), 'aiges-new-'));
  try {
    const created = await runToExit(['new', name, '--lang', lang, '--dir', parent]);
    expect(created.code, created.stderr).toBe(0);
    buildOnHost(join(parent, name));
    const tag = `localhost/aiges-test/${name}:1`;
    const build = await runToExit(['image', 'build', join(parent, name), '--base', BASE, '--tag', tag, ...store.flags]);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).not.toContain('generated');
    // The scaffolds count words: "hello image" is two.
    await serveAndCall(tag, name, [['count', '2']]);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

describe('images built with buildah from a local root', () => {
  it('serves demo/echo (a TS plugin, generated Dockerfile and aiges.toml) from a business image', async () => {
    const build = await runToExit(['image', 'build', 'demo/echo', '--base', BASE, '--tag', 'localhost/aiges-test/echo:1', ...store.flags]);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toContain('generated Dockerfile, aiges.toml');
    await serveAndCall('localhost/aiges-test/echo:1', 'echo');
  }, 240_000);

  it("serves native-echo's prebuilt library with the project's own contract Dockerfile", async () => {
    const project = mkdtempSync(join(tmpdir(), 'aiges-native-project-'));
    try {
      copyFileSync(join(ROOT, 'native', 'build', 'Release', 'libnative_echo.so'), join(project, 'libnative_echo.so'));
      writeFileSync(
        join(project, 'aiges.toml'),
        '[plugin]\nkind = "native"\npath = "libnative_echo.so"\n\n[plugin.native]\nservice = "native-echo"\nmode = "once"\n',
      );
      writeFileSync(join(project, 'Dockerfile'), businessDockerfile(packageVersion()));
      const build = await runToExit([
        'image',
        'build',
        project,
        '--base',
        BASE,
        '--tag',
        'localhost/aiges-test/native-echo:1',
        ...store.flags,
      ]);
      expect(build.code, build.stderr).toBe(0);
      expect(build.stdout).not.toContain('generated');
      await serveAndCall('localhost/aiges-test/native-echo:1', 'native-echo');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 240_000);

  it('serves a project scaffolded by `aiges new` (TS) with its own Dockerfile', async () => {
    await scaffoldedImage('words', 'ts', () => undefined);
  }, 240_000);

  it('serves a project scaffolded by `aiges new --lang cpp`, its library built on the host first', async () => {
    await scaffoldedImage('wordsc', 'cpp', (project) => {
      for (const step of [
        ['-S', project, '-B', join(project, 'build'), '-DCMAKE_BUILD_TYPE=Release'],
        ['--build', join(project, 'build'), '-j2'],
      ]) {
        const r = spawnSync('cmake', step, { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
      }
    });
  }, 240_000);

  it('builds the CUDA variant FROM the same root (Node copied from NODE_IMAGE) with the same contract', async () => {
    const tag = 'localhost/aiges-test/base:cuda';
    const build = await runToExit([
      'image',
      'base',
      '--variant',
      'cuda',
      '--from',
      ROOT_IMAGE,
      '--node-image',
      ROOT_IMAGE,
      '--tag',
      tag,
      ...store.flags,
    ]);
    expect(build.code, build.stderr).toBe(0);
    const config = store.config(tag);
    expectContract(config);
    expect(config.Env).toContain('NVIDIA_DRIVER_CAPABILITIES=compute,utility');
    const version = store.exec(store.container(tag), ['aiges', '--version']);
    expect(version.stdout.trim()).toBe(packageVersion());
  }, 240_000);
});
