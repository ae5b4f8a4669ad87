/**
 * Builder detection against the real tools: PATH is pointed at a folder holding only the tools a
 * case needs (links to the real binaries), and DOCKER_HOST at a socket nobody listens on, so that
 * "no daemon answers" is real and does not depend on this machine.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { detectBuilder, INSTALL_BUILDAH, probeDocker } from '../../../loader/tools/image/builder.js';
import { ImageCodes } from '../../../loader/tools/image/errors.js';
import { requireBuildah } from './store.js';

requireBuildah();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An environment whose PATH holds only `tools` and whose docker daemon does not answer. */
function envWith(...tools: string[]): NodeJS.ProcessEnv {
  const bin = mkdtempSync(join(tmpdir(), 'aiges-path-'));
  dirs.push(bin);
  for (const tool of tools) {
    const path = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    // The docker CLI is optional here (its absence is the same "no daemon" case); buildah is required above.
    if (path !== '') symlinkSync(path, join(bin, tool));
  }
  return { PATH: bin, DOCKER_HOST: `unix://${join(bin, 'no-daemon.sock')}` };
}

describe('detectBuilder', () => {
  it('auto picks buildah when no docker daemon answers', () => {
    const env = envWith('buildah', 'docker');
    expect(probeDocker(env)).toEqual({ ok: false, detail: expect.any(String) });
    expect(detectBuilder('auto', env)).toBe('buildah');
  });

  it('auto with neither tool fails with IMAGE_NO_BUILDER naming how to install buildah', () => {
    expect(() => detectBuilder('auto', envWith())).toThrow(
      expect.objectContaining({ code: ImageCodes.NO_BUILDER, message: expect.stringContaining(INSTALL_BUILDAH) }),
    );
  });

  it('--builder buildah without buildah names the install command', () => {
    expect(() => detectBuilder('buildah', envWith())).toThrow(
      expect.objectContaining({
        code: ImageCodes.NO_BUILDER,
        message: expect.stringMatching(/buildah is not installed.*apt-get install -y buildah/),
      }),
    );
  });

  it('--builder docker with no daemon fails, even when buildah is there', () => {
    expect(() => detectBuilder('docker', envWith('buildah', 'docker'))).toThrow(
      expect.objectContaining({ code: ImageCodes.NO_BUILDER, message: expect.stringContaining('no docker daemon answers') }),
    );
  });

  it('--builder buildah is checked, not assumed', () => {
    expect(detectBuilder('buildah', envWith('buildah'))).toBe('buildah');
  });
});
