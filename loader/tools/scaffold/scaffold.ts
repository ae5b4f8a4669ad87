/**
 * `aiges new`: writes a plugin project from a template. The project works as written: its test
 * passes, `aiges check` passes and `aiges serve` serves it, with no edits and no download.
 *
 * Every project depends on `aiges-ts` as `file:<install root>`, and gets the links `npm install`
 * would make from that (node_modules/aiges-ts, node_modules/.bin/aiges), so that a TS project
 * resolves `import 'aiges-ts'` offline and `npx aiges` runs this install wherever the project is
 * (without the link, npx asks the registry for a package named aiges: 404). In the base image /home/aiges/node_modules/aiges-ts plays that part.
 */
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ToolError } from '../errors.js';
import { ScaffoldCodes } from './errors.js';
import { installRoot } from '../../lib/install-root.js';
import { checkLang, checkName, cIdentifier, type Lang } from './names.js';
import { renderTemplates } from './templates.js';

export interface ScaffoldOptions {
  name: string;
  lang?: string;
  /** Folder the project folder is created in (default: the current directory). */
  parent?: string;
}

export interface ScaffoldResult {
  dir: string;
  lang: Lang;
  /** Files written, relative to `dir`. */
  files: string[];
}

/** The placeholders every template may use. */
export function templateVars(name: string, lang: Lang): Record<string, string> {
  const root = installRoot();
  return {
    name,
    ident: cIdentifier(name),
    ident_upper: cIdentifier(name).toUpperCase(),
    lang,
    aiges_root: root.dir,
    aiges_version: root.version,
    base_image: `aiges-ts/base:${root.version}-${lang === 'cuda' ? 'cuda' : 'cpu'}`,
  };
}

export function scaffold(options: ScaffoldOptions): ScaffoldResult {
  const name = checkName(options.name);
  const lang = checkLang(options.lang ?? 'ts');
  const dir = resolve(options.parent ?? '.', name);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new ToolError(ScaffoldCodes.DIR_NOT_EMPTY, `${dir} already exists and is not an empty folder: choose another name or --dir`);
  }
  // Rendered before anything is written, so a template error leaves no half project behind.
  const files = renderTemplates(lang, templateVars(name, lang));
  for (const file of files) {
    const target = join(dir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content, { mode: file.path.endsWith('.sh') ? 0o755 : 0o644 });
  }
  linkSdk(dir);
  return { dir, lang, files: files.map((f) => f.path) };
}

/** What `npm install` makes of `"aiges-ts": "file:<root>"`: a package link and the `aiges` bin. */
function linkSdk(dir: string): void {
  const root = installRoot().dir;
  const bin = join(dir, 'node_modules', '.bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(root, join(dir, 'node_modules', 'aiges-ts'), 'dir');
  // A launcher script, not a link to main.js: that would need the install's file to be executable.
  const cli = join(root, 'dist', 'loader', 'cli', 'main.js');
  writeFileSync(join(bin, 'aiges'), `#!/bin/sh\nexec node ${JSON.stringify(cli)} "$@"\n`, { mode: 0o755 });
}
