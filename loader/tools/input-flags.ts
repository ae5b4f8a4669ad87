/**
 * The input flags of `aiges call` and `aiges xtest`, one parser with one rule set:
 *
 *   --text key=value         a text item (type text, encoding utf8)
 *   --file key=path[:type]   an item from a file (type text|audio|image|video|other; without one, the
 *                            type the service declares for the key where the tool can ask, else other);
 *                            a directory only where the tool cycles through one (InputRules)
 *   --encoding key=enc       the encoding of an item given by --text or --file
 *   --attr key.name=value    an attribute of such an item
 *   --param name=value       a request param
 *
 * Each input key is given once across --text and --file: a repeated key is an error, not a silent
 * override, since either choice would drop an input the user typed. Of a repeated --param,
 * --encoding or --attr the last one wins, as with any option set twice. Errors are ToolErrors
 * with the tool's code (`rules.invalid`).
 */
import { DATA_TYPE_BY_NAME, DataType, type DataTypeName } from '../../plugins/types.js';
import { ToolError } from './errors.js';
import type { InputRules, InputSpec } from './inputs.js';

export interface InputFlags {
  text: readonly string[];
  file: readonly string[];
  encoding: readonly string[];
  attr: readonly string[];
}

type Rules = Pick<InputRules, 'invalid'>;

/** Splits `name=value` at the first '='; the name must not be empty. `syntax` is the flag's, for the message. */
function split(spec: string, flag: string, syntax: string, rules: Rules): { name: string; value: string } {
  const at = spec.indexOf('=');
  if (at < 1) throw new ToolError(rules.invalid, `${flag} expects ${syntax}, got "${spec}"`);
  return { name: spec.slice(0, at), value: spec.slice(at + 1) };
}

/** `--param` flags → the params map (a later flag wins). */
export function parseParams(flags: readonly string[], rules: Rules): Record<string, string> {
  const params: Record<string, string> = {};
  for (const spec of flags) {
    const { name, value } = split(spec, '--param', 'name=value', rules);
    params[name] = value;
  }
  return params;
}

const TYPED_PATH = /^(.+?)(?::(text|audio|image|video|other))?$/;

export function parseInputFlags(flags: InputFlags, rules: Rules): InputSpec[] {
  const invalid = (message: string) => new ToolError(rules.invalid, message);
  const byKey = new Map<string, InputSpec>();
  const add = (spec: InputSpec) => {
    if (byKey.has(spec.key)) throw invalid(`input key "${spec.key}" is given twice (by --text or --file); give each key once`);
    byKey.set(spec.key, spec);
  };
  for (const flag of flags.text) {
    const { name, value } = split(flag, '--text', 'key=value', rules);
    add({ key: name, source: { text: value }, type: DataType.TEXT, encoding: 'utf8', attributes: {} });
  }
  for (const flag of flags.file) {
    const { name, value } = split(flag, '--file', 'key=path[:type]', rules);
    const m = TYPED_PATH.exec(value);
    if (m === null) throw invalid(`--file expects key=path[:type], got "${flag}"`);
    const type = DATA_TYPE_BY_NAME[(m[2] ?? 'other') as DataTypeName];
    add({ key: name, source: { path: m[1] as string }, type, typed: m[2] !== undefined, encoding: '', attributes: {} });
  }
  const specOf = (key: string, flag: string, given: string) => {
    const spec = byKey.get(key);
    if (spec === undefined) throw invalid(`${flag} "${given}" names key "${key}", which has no --text or --file`);
    return spec;
  };
  for (const flag of flags.encoding) {
    const { name, value } = split(flag, '--encoding', 'key=encoding', rules);
    specOf(name, '--encoding', flag).encoding = value;
  }
  for (const flag of flags.attr) {
    const { name, value } = split(flag, '--attr', 'key.name=value', rules);
    const dot = name.indexOf('.');
    if (dot < 1 || dot === name.length - 1) throw invalid(`--attr expects key.name=value, got "${flag}"`);
    specOf(name.slice(0, dot), '--attr', flag).attributes[name.slice(dot + 1)] = value;
  }
  return [...byKey.values()];
}

/**
 * Gives each input whose type was not given the type the service declares for its key (from its
 * metadata), as `aiges check` samples take their types from the schema; undeclared keys stay other.
 */
export function applyDeclaredTypes(specs: InputSpec[], declared: readonly { key: string; type: DataType }[]): void {
  for (const spec of specs) {
    if (spec.typed !== false) continue;
    const type = declared.find((d) => d.key === spec.key)?.type;
    if (type !== undefined) spec.type = type;
  }
}
