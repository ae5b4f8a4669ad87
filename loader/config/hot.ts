/**
 * Hot config: the part of the loader's config a pushed version (polaris config center) may change
 * while the loader runs — [wrapper], [limits] (all but max_message_bytes) and [log].
 *
 * A version is the whole hot config, not a patch on the previous version: each key it names
 * overrides the loader's startup value (file, env, flags), and each key it leaves out keeps the
 * startup value. So applying a version gives the same result whatever ran before, and a rollback
 * is just applying an older version.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { ConfigSchema, type LoaderConfig } from './schema.js';

/** The sections a pushed config may hold. */
export const HOT_SECTIONS = ['wrapper', 'limits', 'log'] as const;

/** Keys of hot sections that are fixed at startup, with the reason. */
const FIXED_KEYS: Readonly<Record<string, string>> = {
  'limits.max_message_bytes': 'the gRPC and HTTP transports are built with it; restart the loaders to change it',
};

export type HotTree = Partial<Record<(typeof HOT_SECTIONS)[number], Record<string, unknown>>>;

/**
 * A pushed config that cannot be stored or applied; the message names the key, and `line` (1-based)
 * is where the text says it, when it says it at all (a missing key has no line), so that an editor
 * can show the error beside it (`aiges console`).
 */
export class HotConfigError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'HotConfigError';
  }
}

/**
 * The line (1-based) where `toml` sets `path` (a section, or a key of one; deeper paths fall back to
 * their key in the section), or undefined. Only what parseHotConfig accepts needs finding: tables
 * one level deep, `key = value` lines.
 */
export function lineOfKey(toml: string, path: readonly (string | number)[]): number | undefined {
  const [section, key] = path.map(String);
  const bare = (name: string) => name.trim().replace(/^["']|["']$/g, '');
  let table: string | undefined;
  const lines = toml.split('\n');
  for (const [i, line] of lines.entries()) {
    const header = /^\s*\[([^\]]+)\]/.exec(line);
    if (header !== null) {
      table = bare(header[1] ?? '');
      if (key === undefined && table === section) return i + 1;
      continue;
    }
    const assigned = /^\s*([^=#]+?)\s*=/.exec(line);
    if (assigned === null || table !== section || key === undefined) continue;
    if (bare(assigned[1] ?? '') === key) return i + 1;
  }
  return undefined;
}

/**
 * Parses and checks a pushed TOML text: only hot sections and keys, and values that pass the
 * loader's config schema. Returns the parsed tree. Throws HotConfigError naming the first bad key.
 */
export function parseHotConfig(toml: string): HotTree {
  let tree: Record<string, unknown>;
  try {
    tree = parseToml(toml) as Record<string, unknown>;
  } catch (err) {
    // smol-toml's TomlError says where (line, 1-based).
    const line = (err as { line?: unknown }).line;
    throw new HotConfigError(`not valid TOML: ${(err as Error).message}`, typeof line === 'number' ? line : undefined);
  }
  for (const [section, value] of Object.entries(tree)) {
    if (!(HOT_SECTIONS as readonly string[]).includes(section)) {
      throw new HotConfigError(
        `key "${section}" cannot be pushed: a pushed config may hold only [${HOT_SECTIONS.join('], [')}] (the rest is fixed at startup)`,
        lineOfKey(toml, [section]),
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new HotConfigError(`key "${section}" must be a table ([${section}])`, lineOfKey(toml, [section]));
    }
    for (const key of Object.keys(value)) {
      const reason = FIXED_KEYS[`${section}.${key}`];
      if (reason !== undefined)
        throw new HotConfigError(`key "${section}.${key}" cannot be pushed: ${reason}`, lineOfKey(toml, [section, key]));
    }
  }
  const parsed = ConfigSchema.safeParse(tree);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    const keys = paths.map((p) => p.join('.'));
    const what =
      issue.code === 'unrecognized_keys'
        ? `unknown config key "${keys.join('", "')}"`
        : `invalid config key "${keys[0]}": ${issue.message}`;
    throw new HotConfigError(what, lineOfKey(toml, (paths[0] ?? []) as (string | number)[]));
  }
  return tree as HotTree;
}

/**
 * The config a loader runs with a version applied: `base` (its startup config) with each key the
 * version names overridden. `undefined` (no version) gives `base` back.
 */
export function applyHotConfig(base: Readonly<LoaderConfig>, toml: string | undefined): LoaderConfig {
  if (toml === undefined) return base;
  const tree = parseHotConfig(toml);
  const merged: Record<string, unknown> = { ...base };
  for (const section of HOT_SECTIONS) {
    const over = tree[section];
    if (over !== undefined) merged[section] = { ...(base[section] as Record<string, unknown>), ...over };
  }
  return ConfigSchema.parse(merged);
}

/** Which hot sections differ between two configs. */
export function hotChanges(from: Readonly<LoaderConfig>, to: Readonly<LoaderConfig>): Set<(typeof HOT_SECTIONS)[number]> {
  return new Set(HOT_SECTIONS.filter((section) => !isDeepStrictEqual(from[section], to[section])));
}
