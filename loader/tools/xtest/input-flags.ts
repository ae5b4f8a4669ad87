/**
 * The CLI's input flags → InputSpecs. The same spellings as `aiges call`:
 * `--text key=value`, `--file key=path[:type]` (here a path may also be a directory),
 * `--encoding key=enc`, `--attr key.name=value`; and `--param k=v`.
 */
import { DATA_TYPE_BY_NAME, DataType, type DataTypeName } from '../../../plugins/types.js';
import { invalidOption } from './errors.js';
import type { InputSpec } from './inputs.js';

export interface InputFlags {
  text: readonly string[];
  file: readonly string[];
  encoding: readonly string[];
  attr: readonly string[];
}

/** Splits `name=value` at the first '='; the name must not be empty. */
export function splitAssignment(spec: string, flag: string): { name: string; value: string } {
  const at = spec.indexOf('=');
  if (at < 1) throw invalidOption(`${flag} expects name=value, got "${spec}"`);
  return { name: spec.slice(0, at), value: spec.slice(at + 1) };
}

/** `--param` flags → the params map (a later flag wins). */
export function parseParams(flags: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const spec of flags) {
    const { name, value } = splitAssignment(spec, '--param');
    params[name] = value;
  }
  return params;
}

const TYPED_PATH = /^(.+?)(?::(text|audio|image|video|other))?$/;

export function parseInputFlags(flags: InputFlags): InputSpec[] {
  const byKey = new Map<string, InputSpec>();
  const add = (spec: InputSpec) => {
    if (byKey.has(spec.key)) throw invalidOption(`input key "${spec.key}" is given twice`);
    byKey.set(spec.key, spec);
  };
  for (const flag of flags.text) {
    const { name, value } = splitAssignment(flag, '--text');
    add({ key: name, source: { text: value }, type: DataType.TEXT, encoding: 'utf8', attributes: {} });
  }
  for (const flag of flags.file) {
    const { name, value } = splitAssignment(flag, '--file');
    const m = TYPED_PATH.exec(value);
    if (m === null) throw invalidOption(`--file expects key=path[:type], got "${flag}"`);
    const type = DATA_TYPE_BY_NAME[(m[2] ?? 'other') as DataTypeName];
    add({ key: name, source: { path: m[1] as string }, type, encoding: '', attributes: {} });
  }
  const specOf = (key: string, flag: string, given: string) => {
    const spec = byKey.get(key);
    if (spec === undefined) throw invalidOption(`${flag} "${given}" names key "${key}", which has no --text or --file`);
    return spec;
  };
  for (const flag of flags.encoding) {
    const { name, value } = splitAssignment(flag, '--encoding');
    specOf(name, '--encoding', flag).encoding = value;
  }
  for (const flag of flags.attr) {
    const { name, value } = splitAssignment(flag, '--attr');
    const dot = name.indexOf('.');
    if (dot < 1 || dot === name.length - 1) throw invalidOption(`--attr expects key.attribute=value, got "${flag}"`);
    specOf(name.slice(0, dot), '--attr', flag).attributes[name.slice(dot + 1)] = value;
  }
  return [...byKey.values()];
}
