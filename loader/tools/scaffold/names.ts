/**
 * Project names: one name is the folder, the npm package, the service id clients call and (with
 * dashes as underscores) the C library name, so it must be valid as all four.
 */
import { ToolError } from '../errors.js';
import { ScaffoldCodes } from './errors.js';

/** Lowercase letters, digits and single dashes; starts with a letter; at most 64 characters. */
const NAME = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,63}$/;

export const LANGS = ['ts', 'cpp', 'cuda'] as const;
export type Lang = (typeof LANGS)[number];

export function checkName(name: string): string {
  if (!NAME.test(name)) {
    throw new ToolError(
      ScaffoldCodes.BAD_NAME,
      `invalid project name "${name}": use lowercase letters, digits and single dashes, starting with a letter (at most 64 characters), e.g. "word-count"`,
    );
  }
  return name;
}

export function checkLang(lang: string): Lang {
  if (!(LANGS as readonly string[]).includes(lang)) {
    throw new ToolError(ScaffoldCodes.BAD_LANG, `unknown --lang "${lang}": use one of ${LANGS.join(', ')}`);
  }
  return lang as Lang;
}

/** "word-count" → "word_count": a C identifier for library and symbol names. */
export function cIdentifier(name: string): string {
  return name.replaceAll('-', '_');
}
