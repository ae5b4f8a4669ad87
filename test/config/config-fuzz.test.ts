/**
 * Fuzzing config parsing with fast-check: TOML text (arbitrary, a valid aiges.toml mutated by
 * character, and its tree mutated by key and value, `__proto__` and `constructor` included)
 * through the startup loader (loadConfig with a file, AIGES_* variables and `--set` overrides,
 * loader/config/load.ts) and the pushed-config
 * check (parseHotConfig and applyHotConfig, loader/config/hot.ts, what `aiges config push` and a
 * loader's watch use). Properties: a config or a ConfigError / HotConfigError with a message,
 * never another throw; and no prototype is touched.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { applyHotConfig, HotConfigError, parseHotConfig } from '../../loader/config/hot.js';
import { ConfigError, keyPath, loadConfig, setPath } from '../../loader/config/load.js';
import { FUZZ_RUNS } from '../lib/fuzz.js';

const VALID = `
[server]
host = "127.0.0.1"
grpc_port = 0
http_port = 0
request_timeout_ms = 5000

[plugin]
path = "demo/echo"
concurrency = 2

[wrapper]
model = "m"
threads = 2

[limits]
capacity = 8
default_deadline_ms = 1000

[log]
level = "warn"

[polaris]
endpoints = ["http://127.0.0.1:2379"]
service = "echo"
labels = { zone = "a" }
`;

const VALID_HOT = `
[wrapper]
model = "m2"

[limits]
capacity = 4

[log]
level = "debug"
`;

const DANGEROUS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__'];
const SECTIONS = ['server', 'plugin', 'wrapper', 'limits', 'log', 'aiges', 'auth', 'polaris', 'tls'];
const KEYS = [
  'host',
  'grpc_port',
  'http_port',
  'path',
  'kind',
  'isolation',
  'concurrency',
  'capacity',
  'default_deadline_ms',
  'max_message_bytes',
  'level',
  'endpoints',
  'labels',
  'mode',
  'keys_file',
  'cert_file',
];

const base = loadConfig({ overrides: { wrapper: { model: 'a' }, limits: { capacity: 8 }, log: { level: 'warn' } } });

/** The prototypes a polluting parser would reach, with their own keys now. */
const TARGETS: readonly object[] = [Object.prototype, Array.prototype, Function.prototype, Object];
const pristine = TARGETS.map((o) => new Set(Reflect.ownKeys(o)));

/** Fails on a key added to a prototype, after taking it out (so that later runs and shrinking see a clean process). */
function expectNoPollution(): void {
  const added = TARGETS.flatMap((o, i) =>
    Reflect.ownKeys(o)
      .filter((k) => !pristine[i]?.has(k))
      .map((k) => [o, k] as const),
  );
  for (const [o, k] of added) Reflect.deleteProperty(o, k);
  expect(added.map(([, k]) => String(k))).toEqual([]);
}

/** A value of any TOML type, odd numbers included. */
const tomlValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 30 }),
    fc.integer(),
    fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER),
    fc.double(),
    fc.boolean(),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('table'),
  ),
  table: fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...DANGEROUS, ...KEYS), fc.string({ maxLength: 10 })), tie('value')), { maxLength: 3 })
    .map(ownTable),
})).value;

/** A table from entries, each an own key (`__proto__` too: what a TOML parser makes of `"__proto__" = …`). */
function ownTable(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const [k, v] of entries) setOwn(table, k, v);
  return table;
}

function setOwn(table: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The valid file's tree with keys set, replaced or removed in known and unknown sections. */
function mutatedTree(valid: string) {
  const edit = fc.record({
    section: fc.oneof(fc.constantFrom(...SECTIONS, ...DANGEROUS), fc.string({ maxLength: 10 })),
    key: fc.oneof(fc.constantFrom(...KEYS, ...DANGEROUS), fc.string({ maxLength: 10 })),
    value: fc.option(tomlValue, { nil: undefined }),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    const tree = parse(valid) as Record<string, unknown>;
    for (const { section, key, value } of edits) {
      const existing = Object.hasOwn(tree, section) ? tree[section] : undefined;
      const isTable = typeof existing === 'object' && existing !== null && !Array.isArray(existing) && !(existing instanceof Date);
      const table = ownTable(isTable ? Object.entries(existing) : []);
      if (value === undefined) delete table[key];
      else setOwn(table, key, value);
      setOwn(tree, section, table);
    }
    return stringify(tree);
  });
}

/** The valid file's text with characters replaced, inserted or cut, or a snippet spliced in. */
function mutatedText(valid: string) {
  const snippet = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom(
      '[__proto__]\npolluted = 1\n',
      '[constructor.prototype]\npolluted = 1\n',
      '__proto__.polluted = 1\n',
      '"__proto__" = { polluted = 1 }\n',
      '[server.__proto__]\npolluted = 1\n',
      '[wrapper.__proto__]\npolluted = 1\n',
      '[[limits]]\n',
      'x = 1979-05-27T07:32:00Z\n',
      'big = 99999999999999999999\n',
      'n = nan\ni = -inf\n',
      '"\\u0000" = 1\n',
    ),
  );
  return fc
    .array(fc.tuple(fc.nat(), fc.nat({ max: 4 }), snippet), { minLength: 1, maxLength: 4 })
    .map((edits) =>
      edits.reduce(
        (text, [at, cut, insert]) => text.slice(0, at % (text.length + 1)) + insert + text.slice((at % (text.length + 1)) + cut),
        valid,
      ),
    );
}

const tomlText = (valid: string) => fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), mutatedText(valid), mutatedTree(valid));

/** What a call of `f` ended in: the result, or the error of class `type`; anything else fails. */
function settled<T>(f: () => T, type: new (...args: never[]) => Error): T | Error {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof type)) throw err;
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.message).not.toMatch(/\[object Object\]/);
    return err;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'aiges-config-fuzz-'));
let files = 0;

describe('config under fuzzing', () => {
  it('a config file loads to a frozen config or fails with a ConfigError, touching no prototype', () => {
    fc.assert(
      fc.property(tomlText(VALID), (text) => {
        const file = join(dir, `aiges-${++files % 8}.toml`);
        writeFileSync(file, text);
        const result = settled(() => loadConfig({ file }), ConfigError);
        if (!(result instanceof Error)) expect(Object.isFrozen(result.server)).toBe(true);
        expectNoPollution();
      }),
      { numRuns: FUZZ_RUNS * 3 },
    );
  });

  it('AIGES_* variables and --set style overrides load or fail with a ConfigError, touching no prototype', () => {
    const part = fc.oneof(fc.constantFrom(...SECTIONS, ...KEYS, ...DANGEROUS, 'tls_cert_file'), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(part, part, fc.string({ maxLength: 12 })), { maxLength: 4 }),
        fc.array(fc.tuple(part, fc.array(part, { minLength: 1, maxLength: 3 }), tomlValue), { maxLength: 3 }),
        (vars, sets) => {
          const env = Object.fromEntries(vars.map(([section, key, value]) => [`AIGES_${section}_${key}`.toUpperCase(), value]));
          const overrides: Record<string, unknown> = {};
          const result = settled(() => {
            for (const [section, path, value] of sets) setPath(overrides, keyPath(section, path.join('.'), '.'), value);
            return loadConfig({ env, overrides });
          }, ConfigError);
          if (!(result instanceof Error)) expect(Object.isFrozen(result.limits)).toBe(true);
          expectNoPollution();
        },
      ),
      { numRuns: FUZZ_RUNS * 3 },
    );
  });

  it('a pushed config parses and applies, or fails with a HotConfigError, touching no prototype', () => {
    fc.assert(
      fc.property(tomlText(VALID_HOT), (text) => {
        const parsed = settled(() => parseHotConfig(text), HotConfigError);
        const applied = settled(() => applyHotConfig(base, text), HotConfigError);
        // The check `aiges config push` runs and what a loader applies agree.
        expect(applied instanceof Error).toBe(parsed instanceof Error);
        expectNoPollution();
      }),
      { numRuns: FUZZ_RUNS * 3 },
    );
  });
});
