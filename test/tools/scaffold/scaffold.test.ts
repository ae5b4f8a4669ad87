/**
 * The scaffold in-process: name rules, template rendering (every placeholder defined, layers
 * stacked), what is written, and that nothing is written when the scaffold is refused.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScaffoldCodes } from '../../../loader/tools/scaffold/errors.js';
import { installRoot } from '../../../loader/lib/install-root.js';
import { checkName, LANGS } from '../../../loader/tools/scaffold/names.js';
import { scaffold, templateVars } from '../../../loader/tools/scaffold/scaffold.js';
import { render, renderTemplates } from '../../../loader/tools/scaffold/templates.js';

const parent = mkdtempSync(join(tmpdir(), 'aiges-scaffold-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('project names', () => {
  it.each(['a', 'word-count', 'asr2', 'a-1-b', 'x'.repeat(64)])('accepts %s', (name) => {
    expect(checkName(name)).toBe(name);
  });

  it.each(['', 'Word', '1st', '-a', 'a_b', 'a--b', 'end-', 'a.b', 'a b', 'x'.repeat(65), '../up'])('refuses %j', (name) => {
    expect(codeOf(() => checkName(name))).toBe(ScaffoldCodes.BAD_NAME);
  });
});

describe('templates', () => {
  it.each(LANGS)('%s renders with every placeholder defined', (lang) => {
    const files = renderTemplates(lang, templateVars('my-plugin', lang));
    const paths = files.map((f) => f.path);
    for (const required of ['README.md', 'aiges.toml', 'Dockerfile', '.dockerignore', 'samples/requests.toml']) {
      expect(paths).toContain(required);
    }
    for (const file of files) expect(file.content, file.path).not.toMatch(/\{\{/);
  });

  it('stacks layers: cuda is cpp with its own files added or replacing', () => {
    const cpp = renderTemplates('cpp', templateVars('x', 'cpp'));
    const cuda = renderTemplates('cuda', templateVars('x', 'cuda'));
    expect(cuda.map((f) => f.path)).toEqual(expect.arrayContaining(cpp.map((f) => f.path)));
    expect(cuda.some((f) => f.path.endsWith('.cu'))).toBe(true);
    const dockerfile = (files: typeof cpp) => files.find((f) => f.path === 'Dockerfile')?.content ?? '';
    expect(dockerfile(cpp)).toMatch(/^ARG AIGES_BASE=aiges-ts\/base:.*-cpu$/m);
    expect(dockerfile(cuda)).toMatch(/^ARG AIGES_BASE=aiges-ts\/base:.*-cuda$/m);
  });

  it('refuses an unknown placeholder, naming the template', () => {
    expect(() => render('id: {{nmae}}', { name: 'x' }, 'ts/wrapper.ts.tmpl')).toThrow(
      'template ts/wrapper.ts.tmpl uses unknown placeholder {{nmae}}',
    );
  });
});

describe('scaffold', () => {
  it('writes a ts project with the links npm install would make', () => {
    const result = scaffold({ name: 'links', parent });
    expect(result.dir).toBe(join(parent, 'links'));
    expect(result.files).toContain('wrapper.ts');
    expect(readlinkSync(join(result.dir, 'node_modules', 'aiges-ts'))).toBe(installRoot().dir);
    const bin = join(result.dir, 'node_modules', '.bin', 'aiges');
    expect(lstatSync(bin).mode & 0o111).not.toBe(0);
    expect(readFileSync(bin, 'utf8')).toContain(join(installRoot().dir, 'dist', 'loader', 'cli', 'main.js'));
    expect(JSON.parse(readFileSync(join(result.dir, 'package.json'), 'utf8')).dependencies['aiges-ts']).toBe(`file:${installRoot().dir}`);
  });

  it('uses an existing empty folder', () => {
    mkdirSync(join(parent, 'empty'));
    expect(scaffold({ name: 'empty', parent, lang: 'cpp' }).files).toContain('CMakeLists.txt');
  });

  it('refuses a non-empty folder or a file in the way, writing nothing', () => {
    mkdirSync(join(parent, 'full'));
    writeFileSync(join(parent, 'full', 'x'), '');
    writeFileSync(join(parent, 'afile'), '');
    expect(codeOf(() => scaffold({ name: 'full', parent }))).toBe(ScaffoldCodes.DIR_NOT_EMPTY);
    expect(codeOf(() => scaffold({ name: 'afile', parent }))).toBe(ScaffoldCodes.DIR_NOT_EMPTY);
    expect(readdirSync(join(parent, 'full'))).toEqual(['x']);
  });

  it('refuses an unknown language before writing anything', () => {
    expect(codeOf(() => scaffold({ name: 'nolang', parent, lang: 'go' }))).toBe(ScaffoldCodes.BAD_LANG);
    expect(existsSync(join(parent, 'nolang'))).toBe(false);
  });
});
