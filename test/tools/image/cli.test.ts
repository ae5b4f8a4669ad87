/** `aiges image` as a child process: bad input gets its stable [IMAGE_…] code and exit 2. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runToExit } from '../../cli/serve-process.js';

const empty = mkdtempSync(join(tmpdir(), 'aiges-nopath-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

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
});
