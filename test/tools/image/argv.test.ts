/** The builder command lines: what docker and buildah are asked to do. */
import { describe, expect, it } from 'vitest';
import { buildCommand, DEFAULT_BUILDAH, parseBuildArg } from '../../../loader/tools/image/argv.js';
import { ImageCodes } from '../../../loader/tools/image/errors.js';
import { commandLine } from '../../../loader/tools/image/run.js';

const spec = { context: '/ctx', dockerfile: '/ctx/Dockerfile', tag: 'echo:1', buildArgs: { AIGES_BASE: 'aiges-ts/base:0.1.0-cpu' } };

describe('buildCommand', () => {
  it('docker: a plain docker build of the context', () => {
    expect(buildCommand('docker', spec)).toEqual({
      cmd: 'docker',
      args: ['build', '-f', '/ctx/Dockerfile', '-t', 'echo:1', '--build-arg', 'AIGES_BASE=aiges-ts/base:0.1.0-cpu', '/ctx'],
    });
  });

  it('buildah: vfs + chroot by default, docker format (HEALTHCHECK kept), local images before pulls', () => {
    const { cmd, args } = buildCommand('buildah', spec);
    expect(cmd).toBe('buildah');
    expect(args).toEqual([
      '--storage-driver',
      'vfs',
      'bud',
      '--isolation',
      'chroot',
      '--format',
      'docker',
      '--pull=false',
      '-f',
      '/ctx/Dockerfile',
      '-t',
      'echo:1',
      '--build-arg',
      'AIGES_BASE=aiges-ts/base:0.1.0-cpu',
      '/ctx',
    ]);
  });

  it('buildah: --root and --runroot choose the store, before the verb', () => {
    const { args } = buildCommand('buildah', spec, { ...DEFAULT_BUILDAH, root: '/s/root', runroot: '/s/run', storageDriver: 'overlay' });
    expect(args.slice(0, 7)).toEqual(['--root', '/s/root', '--runroot', '/s/run', '--storage-driver', 'overlay', 'bud']);
  });

  it('commandLine quotes what a shell would split', () => {
    expect(commandLine({ cmd: 'docker', args: ['build', '--build-arg', "NOTE=it's here", '/ctx'] })).toBe(
      "docker build --build-arg 'NOTE=it'\\''s here' /ctx",
    );
  });
});

describe('parseBuildArg', () => {
  it('splits at the first =', () => {
    expect(parseBuildArg('BASE=node:20=x')).toEqual(['BASE', 'node:20=x']);
    expect(parseBuildArg('EMPTY=')).toEqual(['EMPTY', '']);
  });

  it.each(['BASE', '=x', '1A=x', 'A-B=x'])('rejects %s with IMAGE_BAD_ARGUMENT', (bad) => {
    expect(() => parseBuildArg(bad)).toThrow(
      expect.objectContaining({ code: ImageCodes.BAD_ARGUMENT, message: expect.stringContaining(bad) }),
    );
  });
});
