/**
 * Project templates: plain files under plugins/templates/<layer>/, named as they will be written
 * plus a `.tmpl` suffix (so that no tool mistakes a template for a live package.json or test),
 * with `{{placeholder}}` tokens. A language is a stack of layers: cuda is the cpp layer with the
 * cuda layer's files added or replacing same-named ones.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ToolError } from '../errors.js';
import { ScaffoldCodes } from './errors.js';
import { installRoot } from '../../lib/install-root.js';
import type { Lang } from './names.js';

const LAYERS: Readonly<Record<Lang, readonly string[]>> = {
  ts: ['ts'],
  cpp: ['cpp'],
  cuda: ['cpp', 'cuda'],
};

export interface RenderedFile {
  /** Path inside the project, '/'-separated. */
  path: string;
  content: string;
}

export function templatesDir(): string {
  return join(installRoot().dir, 'plugins', 'templates');
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** `{{name}}` → vars.name. An unknown placeholder is a template bug and fails the whole scaffold. */
export function render(text: string, vars: Readonly<Record<string, string>>, where: string): string {
  return text.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new ToolError(ScaffoldCodes.TEMPLATE, `template ${where} uses unknown placeholder {{${key}}}`);
    return value;
  });
}

/** Every file of a language's project, rendered, in path order. */
export function renderTemplates(lang: Lang, vars: Readonly<Record<string, string>>): RenderedFile[] {
  const files = new Map<string, RenderedFile>();
  for (const layer of LAYERS[lang]) {
    const dir = join(templatesDir(), layer);
    for (const file of listFiles(dir)) {
      if (!file.endsWith('.tmpl')) continue;
      const path = file.slice(0, -'.tmpl'.length);
      files.set(path, { path, content: render(readFileSync(join(dir, file), 'utf8'), vars, `${layer}/${file}`) });
    }
  }
  return [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
}
