/** Planning a business image build from a plugin project folder (no builder runs here). */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planBusinessBuild } from '../../../loader/tools/image/business.js';
import { businessDockerfile } from '../../../loader/tools/image/dockerfile.js';
import { ImageCodes } from '../../../loader/tools/image/errors.js';
import { ROOT } from '../../cli/serve-process.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'aiges-project-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const fails = (dir: string, code: string, text: string) =>
  expect(() => planBusinessBuild(dir, '0.1.0')).toThrow(expect.objectContaining({ code, message: expect.stringContaining(text) }));

describe('planBusinessBuild', () => {
  it('a TS project without Dockerfile or aiges.toml gets both, in a temp copy; the project is untouched', () => {
    const plan = planBusinessBuild(join(ROOT, 'demo', 'echo'), '0.1.0');
    try {
      expect(plan.generated).toEqual(['Dockerfile', 'aiges.toml']);
      expect(readFileSync(plan.dockerfile, 'utf8')).toBe(businessDockerfile('0.1.0'));
      expect(readFileSync(join(plan.context, 'aiges.toml'), 'utf8')).toMatch(/^\[plugin\]\npath = "\."$/m);
      expect(readFileSync(join(plan.context, 'wrapper.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'demo', 'echo', 'wrapper.ts'), 'utf8'));
      expect(readFileSync(join(plan.context, '.dockerignore'), 'utf8').split('\n')).toContain('Dockerfile');
      expect(existsSync(join(ROOT, 'demo', 'echo', 'Dockerfile'))).toBe(false);
    } finally {
      plan.cleanup();
    }
    expect(existsSync(plan.context)).toBe(false);
  });

  it('the generated Dockerfile follows the contract: FROM $AIGES_BASE, one COPY as 10001, no RUN', () => {
    const text = businessDockerfile('0.1.0', 'cuda');
    const steps = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(steps).toEqual([
      'ARG AIGES_BASE=aiges-ts/base:0.1.0-cuda',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile ARG reference, not a template
      'FROM ${AIGES_BASE}',
      'COPY --chown=10001:10001 . /home/aiges/plugin/',
    ]);
  });

  it('copies no development artefacts: node_modules (a link out of the image), tests, logs, .git', () => {
    const dir = project({
      'wrapper.ts': 'export default {};\n',
      'wrapper.test.ts': 'test\n',
      'lib/util.spec.mjs': 'test\n',
      'lib/util.js': 'ok\n',
      'samples/requests.toml': '\n',
      'coverage/index.html': 'x\n',
      'debug.log': 'x\n',
      '.git/HEAD': 'ref\n',
      'sub/node_modules/x/index.js': 'x\n',
    });
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'aiges-ts'), 'dir');
    const plan = planBusinessBuild(dir, '0.1.0');
    try {
      const copied = readdirSync(plan.context, { recursive: true, encoding: 'utf8' }).sort();
      expect(copied).toEqual([
        '.dockerignore',
        'Dockerfile',
        'aiges.toml',
        'lib',
        'lib/util.js',
        'samples',
        'samples/requests.toml',
        'sub',
        'wrapper.ts',
      ]);
      // The same list for a builder that reads the context's .dockerignore.
      const ignore = readFileSync(join(plan.context, '.dockerignore'), 'utf8').split('\n');
      expect(ignore).toEqual(
        expect.arrayContaining(['node_modules', '**/node_modules', '**/*.test.ts', '**/*.spec.mjs', '**/*.log', '.git']),
      );
    } finally {
      plan.cleanup();
    }
  });

  it("keeps the project's own .dockerignore lines and leaves out .git", () => {
    const dir = project({ 'wrapper.ts': 'export default {};\n', '.dockerignore': 'models/raw\n', '.git/HEAD': 'ref\n' });
    const plan = planBusinessBuild(dir, '0.1.0');
    try {
      expect(readFileSync(join(plan.context, '.dockerignore'), 'utf8')).toMatch(/^models\/raw\n/);
      expect(existsSync(join(plan.context, '.git'))).toBe(false);
    } finally {
      plan.cleanup();
    }
  });

  it('a project with its own Dockerfile is built as it is, in place', () => {
    const dir = project({ Dockerfile: 'FROM scratch\n', 'aiges.toml': '[plugin]\npath = "lib/libx.so"\n', 'lib/libx.so': 'elf' });
    const plan = planBusinessBuild(dir, '0.1.0');
    expect(plan).toMatchObject({ context: dir, dockerfile: join(dir, 'Dockerfile'), generated: [] });
  });

  it('an absolute plugin path names a file inside the image and is not checked here', () => {
    const dir = project({
      Dockerfile: 'FROM scratch\n',
      'aiges.toml': '[plugin]\npath = "/opt/aiges/native/build/Release/libnative_echo.so"\n',
    });
    expect(planBusinessBuild(dir, '0.1.0').generated).toEqual([]);
  });

  it('IMAGE_NO_PROJECT: the folder does not exist, or is a file', () => {
    fails(join(tmpdir(), 'aiges-no-such-project'), ImageCodes.NO_PROJECT, 'is not a folder');
    fails(join(ROOT, 'demo', 'echo', 'wrapper.ts'), ImageCodes.NO_PROJECT, 'is not a folder');
  });

  it('IMAGE_NO_PLUGIN: no aiges.toml and no wrapper in the folder', () => {
    fails(project({ 'notes.txt': 'x' }), ImageCodes.NO_PLUGIN, 'has no aiges.toml');
  });

  it('IMAGE_PATH_OUTSIDE: aiges.toml names a library outside the project (demo/native-echo as it stands)', () => {
    fails(join(ROOT, 'demo', 'native-echo'), ImageCodes.PATH_OUTSIDE, '../../native/build/Release/libnative_echo.so');
  });

  it('IMAGE_BAD_CONFIG: aiges.toml is not TOML', () => {
    fails(project({ 'aiges.toml': '[plugin\npath = 1\n' }), ImageCodes.BAD_CONFIG, 'is not valid TOML');
  });

  it('IMAGE_PATH_MISSING: aiges.toml names a library not built yet', () => {
    fails(
      project({ 'aiges.toml': '[plugin]\npath = "build/libmine.so"\n' }),
      ImageCodes.PATH_MISSING,
      'build the plugin on the host first',
    );
  });
});
