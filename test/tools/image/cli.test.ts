/** `aiges image` as a child process: bad input gets its stable [IMAGE_…] code and exit 2. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_UPSTREAMS, offlineHint } from '../../../loader/tools/image/upstream.js';
import { runToExit } from '../../cli/serve-process.js';

const empty = mkdtempSync(join(tmpdir(), 'aiges-nopath-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

/** Runs `args` with a buildah on PATH that answers --version and fails everything else with `said`. */
async function withFailingBuildah(said: string, args: string[]) {
  const fake = mkdtempSync(join(tmpdir(), 'aiges-fake-buildah-'));
  writeFileSync(join(fake, 'buildah'), `#!/bin/sh\n[ "$1" = --version ] && exit 0\necho '${said}' >&2\nexit 125\n`, { mode: 0o755 });
  try {
    return await runToExit(args, { PATH: `${fake}:${process.env['PATH']}` });
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
}

describe('aiges image', () => {
  it('build: a missing project folder is IMAGE_NO_PROJECT', async () => {
    const r = await runToExit(['image', 'build', join(empty, 'nope'), '--tag', 'x:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^aiges image build: \[IMAGE_NO_PROJECT\] .*nope is not a folder/);
  });

  it('build: no docker daemon and no buildah is IMAGE_NO_BUILDER naming apt-get install -y buildah', async () => {
    const r = await runToExit(['image', 'build', 'demo/echo', '--tag', 'x:1'], { PATH: empty, DOCKER_HOST: `unix://${empty}/none.sock` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[IMAGE_NO_BUILDER]');
    expect(r.stderr).toContain('apt-get install -y buildah');
  });

  it('build: buildah storage flags with --builder docker are IMAGE_BAD_ARGUMENT', async () => {
    const r = await runToExit(['image', 'build', 'demo/echo', '--tag', 'x:1', '--builder', 'docker', '--storage-root', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[IMAGE_BAD_ARGUMENT] --storage-root/--run-root are buildah options');
  });

  it('build: a malformed --build-arg is IMAGE_BAD_ARGUMENT', async () => {
    const r = await runToExit(['image', 'build', 'demo/echo', '--tag', 'x:1', '--builder', 'buildah', '--build-arg', 'NOVALUE']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[IMAGE_BAD_ARGUMENT] --build-arg expects NAME=value, got "NOVALUE"');
  });

  it('build: --tag is required; base: an unknown variant is refused', async () => {
    const noTag = await runToExit(['image', 'build', 'demo/echo']);
    expect(noTag.code).not.toBe(0);
    expect(noTag.stderr).toContain("required option '--tag <tag>' not specified");
    const variant = await runToExit(['image', 'base', '--variant', 'rocm']);
    expect(variant.code).not.toBe(0);
    expect(variant.stderr).toContain('Allowed choices are cpu, cuda');
  });

  it('stage: a non-empty folder is IMAGE_BAD_ARGUMENT', async () => {
    const r = await runToExit(['image', 'stage', 'demo/echo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[IMAGE_BAD_ARGUMENT] stage folder');
  });

  it('base: a failed pull of the default upstream (offline) points at --from and a local root image', { timeout: 60_000 }, async () => {
    // A buildah that runs but cannot reach the registry, as on a machine with no network.
    const r = await withFailingBuildah(
      'Error: pinging container registry registry-1.docker.io: dial tcp: lookup registry-1.docker.io: no such host',
      ['image', 'base', '--variant', 'cpu', '--builder', 'buildah'],
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aiges image base: \[IMAGE_BUILD_FAILED\] buildah failed \(exit 125\): buildah .*bud/m);
    expect(r.stderr).toContain('build from a local root image instead: docker/local-root.sh localhost/node-root:20');
    expect(r.stderr).toContain('aiges image base --builder buildah --from localhost/node-root:20 (docs/images.md');
    expect(r.stderr).toContain('buildah builds FROM the images `buildah --storage-driver vfs images` lists');
  });

  it('build: a buildah failure names the store it looked in, with the --root given', { timeout: 60_000 }, async () => {
    // What buildah says when the base was saved in another store (another driver or --root).
    const r = await withFailingBuildah('Error: creating build container: localhost/aiges-ts/base:0.1.0-cpu: image not known', [
      'image',
      'build',
      'demo/echo',
      '--tag',
      'x:1',
      '--storage-root',
      join(empty, 'store'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the images \`buildah --root ${join(empty, 'store')} --storage-driver vfs images\` lists`);
    expect(r.stderr).toContain('(docs/images.md, "Without a docker daemon")');
  });

  it("base: the hint names only upstreams that were pulled by default (the Dockerfiles' ARG defaults)", () => {
    for (const [variant, args] of Object.entries(DEFAULT_UPSTREAMS)) {
      const dockerfile = readFileSync(join('docker', `Dockerfile.${variant}`), 'utf8');
      for (const [arg, image] of Object.entries(args)) expect(dockerfile).toContain(`ARG ${arg}=${image}\n`);
    }
    expect(offlineHint('cpu', { BASE: 'localhost/node-root:20' })).toBeUndefined();
    expect(offlineHint('cuda', { BASE: 'localhost/cuda' })).toContain('node:20-bookworm-slim from the public registry');
    expect(offlineHint('cuda', {})).toContain('--from <local CUDA runtime image> --node-image <local Node image>');
  });
});
