/**
 * docs/images.md's route with no registry and no docker daemon, run as written with buildah: the
 * `offline:*` blocks ("Without a registry": docker/local-root.sh, then `aiges image base --from`;
 * section 1's TS plugin, `aiges new` to `aiges image build`; "Without a docker daemon": `buildah
 * images`, `from`, `run`, then `push` to a docker archive), and section 1's `curl` and `aiges call`
 * lines against the running image, answering as their comments say.
 *
 * Only what must differ from a fresh machine is substituted:
 * - the buildah store: a throw-away one through `CONTAINERS_STORAGE_CONF` (buildah's own variable),
 *   whose default driver is overlay, as buildah's built-in one: a command that forgets the docs'
 *   vfs store finds no images, as on a fresh machine;
 * - `my-plugins` and `/tmp/hello.tar`: under a temp folder;
 * - the ports: free ones, set with `buildah run --env` as "Configure a running image" sets them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROOT } from '../cli/serve-process.js';
import { freePort, requireBuildah, Running, Store } from '../tools/image/store.js';

const doc = readFileSync(join(ROOT, 'docs', 'images.md'), 'utf8');
let store: Store;
let env: NodeJS.ProcessEnv;
const work = mkdtempSync(join(tmpdir(), 'aiges-images-doc-'));

beforeAll(() => {
  requireBuildah();
  store = new Store();
  env = { ...process.env, ...store.confEnv() };
});

// Removing a vfs store rewrites every layer's files: slow on a busy disk.
afterAll(() => {
  store?.cleanup();
  rmSync(work, { recursive: true, force: true });
}, 120_000);

/** The command lines of the docs' `<!-- offline:<name> -->` block, with the temp paths in. */
function block(name: string): string[] {
  const m = new RegExp(`<!-- offline:${name}\\b[^>]*-->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (m?.[1] === undefined) throw new Error(`docs/images.md has no offline:${name} block`);
  return m[1]
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replaceAll('my-plugins', join(work, 'my-plugins')).replaceAll('/tmp/hello.tar', join(work, 'hello.tar')));
}

/** A docs line that its comment says the output of: [command, comment]. */
function commented(pattern: RegExp): [string, string] {
  const m = pattern.exec(doc);
  if (m?.[1] === undefined || m[2] === undefined) throw new Error(`docs/images.md has no line matching ${pattern}`);
  return [m[1], m[2]];
}

/** Runs one command line with bash in the checkout's root, as the docs say they run. */
async function sh(line: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn('bash', ['-euo', 'pipefail', '-c', line], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(proc, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

async function steps(name: string): Promise<void> {
  for (const line of block(name)) {
    const r = await sh(line);
    expect(r.code, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
  }
}

// One route: each step builds on the images the one before left in the store.
describe('docs/images.md: no registry, no docker daemon, buildah as written', () => {
  it('"Without a registry": a local root image, then the base image FROM it', async () => {
    await steps('base');
    const images = store.buildah(['images', '--format', '{{.Name}}:{{.Tag}}']).split('\n');
    expect(images).toEqual(expect.arrayContaining(['localhost/node-root:20', 'localhost/aiges-ts/base:0.1.0-cpu']));
  }, 120_000);

  it('section 1: scaffold, test, check and build hello on that base', async () => {
    await steps('plugin');
    expect(store.config('localhost/hello:0.1.0').User).toBe('10001:10001');
  }, 120_000);

  it('"Without a docker daemon": buildah from + run serve hello; the curl and call lines answer as commented', async () => {
    const grpc = await freePort();
    const http = await freePort();
    const lines = block('run');
    const run = lines.findIndex((l) => /^buildah .*\brun /.test(l));
    expect(run, lines.join('\n')).toBeGreaterThan(-1);
    lines[run] = (lines[run] as string).replace(/\brun /, `run --env AIGES_SERVER_GRPC_PORT=${grpc} --env AIGES_SERVER_HTTP_PORT=${http} `);
    const running = new Running(
      spawn('bash', ['-euo', 'pipefail', '-c', lines.join('\n')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    // `buildah from` copies the whole image (vfs), then the loader starts under buildah run: seconds
    // to tens of seconds on a loaded machine, so a bound of its own rather than waitFor's 1 s.
    await Promise.race([
      vi.waitFor(() => expect(running.log('ready'), running.stderr).toBeDefined(), { timeout: 90_000 }),
      running.exited.then((code) => {
        throw new Error(`the run block exited ${code} before the loader was ready: ${running.stderr}`);
      }),
    ]);
    // `buildah … images` listed what aiges image built, under the names buildah gives them.
    const listed = running.logs.map((l) => String(l['raw'] ?? ''));
    expect(listed.some((l) => l.startsWith('localhost/hello '))).toBe(true);

    const [curl, ready] = commented(/^(curl -s localhost:8080\/v2\/health\/ready)\s+# (.+)$/m);
    const health = await sh(curl.replace('8080', String(http)));
    expect(health.stdout.trim(), health.stderr).toBe(ready);
    const [call, count] = commented(/^(npx aiges call 127\.0\.0\.1:5090 hello .+?)\s+# count: "(\d+)"$/m);
    const answer = await sh(call.replace('5090', String(grpc)));
    expect(answer.code, answer.stderr).toBe(0);
    expect(JSON.parse(answer.stdout).items[0]).toMatchObject({ key: 'count', text: count });

    // The docs: buildah run does not pass SIGTERM on, so the loader itself is stopped.
    process.kill(running.loaderPid(), 'SIGTERM');
    expect(await running.exited, running.stderr).toBe(0);
    expect(running.log('stopped')).toBeDefined();
  }, 150_000);

  it('"Without a docker daemon": buildah push writes a docker archive that docker load names hello:0.1.0', async () => {
    await steps('push');
    const manifest = spawnSync('tar', ['-xOf', join(work, 'hello.tar'), 'manifest.json'], { encoding: 'utf8' });
    expect(manifest.status, manifest.stderr).toBe(0);
    expect(JSON.parse(manifest.stdout)[0].RepoTags).toContain('docker.io/library/hello:0.1.0');
  }, 120_000);
});
