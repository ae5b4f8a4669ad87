/**
 * Builds the frozen loader config from, in rising precedence: defaults, a TOML file, `AIGES_*`
 * environment variables, and CLI overrides. Any unknown key or bad value stops startup with an
 * error naming the key and where it came from.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { z } from 'zod';
import { ConfigSchema, type LoaderConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Tree = Record<string, unknown>;

export interface ConfigSources {
  /** Path of a TOML file. */
  file?: string | undefined;
  /** Environment (defaults to none; pass process.env to read AIGES_* variables). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides as a partial tree, e.g. from CLI flags: { server: { grpc_port: 0 } }. */
  overrides?: Tree;
}

/** Variables that are not config keys. */
const RESERVED_ENV = new Set(['AIGES_CONFIG', 'AIGES_NATIVE_HOST', 'AIGES_ACCESS_KEY', 'AIGES_SECRET_KEY']);

export function loadConfig(sources: ConfigSources = {}): Readonly<LoaderConfig> {
  const layers: { tree: Tree; origin: string }[] = [];
  if (sources.file !== undefined) layers.push({ tree: readTomlFile(sources.file), origin: sources.file });
  if (sources.env !== undefined) layers.push({ tree: envTree(sources.env), origin: 'environment' });
  if (sources.overrides !== undefined) layers.push({ tree: sources.overrides, origin: 'command line' });

  const merged: Tree = {};
  for (const layer of layers) mergeInto(merged, layer.tree);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues, layers));
  return deepFreeze(parsed.data);
}

export function readTomlFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let tree: Tree;
  try {
    tree = parseToml(text) as Tree;
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid TOML: ${(err as Error).message}`);
  }
  // A relative path in a file is relative to that file.
  for (const path of FILE_RELATIVE_KEYS) {
    const table = path.slice(0, -1).reduce<unknown>((node, part) => (isTree(node) ? node[part] : undefined), tree);
    const key = path[path.length - 1] as string;
    if (isTree(table) && typeof table[key] === 'string' && !isAbsolute(table[key])) table[key] = resolve(dirname(file), table[key]);
  }
  return tree;
}

/** Keys naming files, which a config file gives relative to itself. */
const FILE_RELATIVE_KEYS: readonly (readonly string[])[] = [
  ['plugin', 'path'],
  ['server', 'tls', 'cert_file'],
  ['server', 'tls', 'key_file'],
  ['server', 'tls', 'client_ca_file'],
  ['auth', 'keys_file'],
  ['repository', 'path'],
];

/**
 * AIGES_<SECTION>_<KEY>=value sets [section] key: AIGES_LIMITS_CAPACITY=8, AIGES_SERVER_GRPC_PORT=0,
 * AIGES_WRAPPER_MODEL_DIR=/models (→ [wrapper] model_dir), AIGES_SERVER_TLS_CERT_FILE=… (→ [server.tls]
 * cert_file). Values are parsed as TOML values when
 * they parse (numbers, booleans), else kept as strings.
 */
function envTree(env: Readonly<Record<string, string | undefined>>): Tree {
  const tree: Tree = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('AIGES_') || RESERVED_ENV.has(name) || value === undefined) continue;
    const rest = name.slice('AIGES_'.length).toLowerCase();
    const cut = rest.indexOf('_');
    if (cut <= 0) throw new ConfigError(`environment variable ${name} does not name a [section] key`);
    setPath(tree, keyPath(rest.slice(0, cut), rest.slice(cut + 1), '_'), parseScalar(value));
  }
  return tree;
}

/**
 * Tables inside a section that env names and `--set` reach: AIGES_SERVER_TLS_CERT_FILE, server.tls.cert_file;
 * AIGES_PLUGIN_BATCHING_MAX_BATCH_SIZE, plugin.batching.max_batch_size.
 */
const SUBTABLES: Readonly<Record<string, readonly string[]>> = { server: ['tls'], plugin: ['batching'] };

/** A section's key as a path in the config tree: ["server", "tls", "cert_file"] for a key of a subtable. */
export function keyPath(section: string, key: string, separator: '_' | '.'): string[] {
  for (const table of Object.hasOwn(SUBTABLES, section) ? (SUBTABLES[section] as readonly string[]) : []) {
    if (key.startsWith(`${table}${separator}`)) return [section, table, key.slice(table.length + 1)];
  }
  return [section, key];
}

/** Sets `value` at `path` in `tree`, making the tables on the way. */
export function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const [i, part] of path.slice(0, -1).entries()) {
    const next = ownValue(node, part);
    if (next === undefined) setOwn(node, part, (node = {}));
    else if (isTree(next)) node = next;
    else throw new ConfigError(`config key "${path.slice(0, i + 1).join('.')}" is set both as a value and as a table`);
  }
  setOwn(node, path[path.length - 1] as string, value);
}

/**
 * NOTE: keys are read and set as own properties only: `__proto__` and `constructor` are TOML
 * keys like any other (the schema then refuses them by name), never a way to an object's
 * prototype: `[__proto__]` in a file, or `--set __proto__.x=1`, would otherwise write into
 * Object.prototype for the whole process.
 */
function ownValue(tree: Tree, key: string): unknown {
  return Object.hasOwn(tree, key) ? tree[key] : undefined;
}

function setOwn(tree: Tree, key: string, value: unknown): void {
  Object.defineProperty(tree, key, { value, enumerable: true, writable: true, configurable: true });
}

/** "8" → 8, "true" → true, "0.5" → 0.5, anything else stays a string. */
export function parseScalar(value: string): unknown {
  try {
    const parsed = parseToml(`v = ${value}`) as { v: unknown };
    // NOTE: TOML's nan/inf are not numbers anyone means in an env var ("nan" is a language code).
    if ((typeof parsed.v === 'number' && Number.isFinite(parsed.v)) || typeof parsed.v === 'boolean') return parsed.v;
  } catch {
    // not a TOML scalar: a plain string
  }
  return value;
}

function mergeInto(target: Tree, source: Tree): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = ownValue(target, key);
    if (isTree(value) && isTree(existing)) mergeInto(existing, value);
    // Copies, so that freezing the result never freezes a caller's object or array.
    else setOwn(target, key, isTree(value) || Array.isArray(value) ? structuredClone(value) : value);
  }
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describeIssues(issues: readonly z.core.$ZodIssue[], layers: { tree: Tree; origin: string }[]): string {
  const lines = issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length > 0 ? `[${issue.path.join('.')}]` : 'top level';
      return issue.keys
        .map((k) => `unknown config key "${[...issue.path, k].join('.')}" (in ${where}${originOf([...issue.path, k], layers)})`)
        .join('\n');
    }
    const key = issue.path.join('.');
    return `invalid config key "${key}"${originOf(issue.path, layers)}: ${issue.message}`;
  });
  return `invalid configuration:\n  ${lines.join('\n  ')}`;
}

function originOf(path: readonly PropertyKey[], layers: { tree: Tree; origin: string }[]): string {
  for (const layer of [...layers].reverse()) {
    let node: unknown = layer.tree;
    for (const part of path) node = isTree(node) ? ownValue(node, String(part)) : undefined;
    if (node !== undefined) return `, from ${layer.origin}`;
  }
  return '';
}

function deepFreeze<T>(value: T): T {
  if (isTree(value) || Array.isArray(value)) {
    for (const v of Object.values(value as object)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
