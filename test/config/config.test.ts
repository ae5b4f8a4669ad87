import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, keyPath, loadConfig, parseScalar, setPath } from '../../loader/config/load.js';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aiges-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a TOML file in the temp folder and returns its path. */
function toml(text: string): string {
  const file = join(dir, `aiges-${++n}.toml`);
  writeFileSync(file, text);
  return file;
}

/** The ConfigError a load throws (fails the test when it does not throw one). */
function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('with no sources gives the documented defaults', () => {
    const config = loadConfig();
    expect(config.server).toEqual({ host: '0.0.0.0', grpc_port: 5090, http_port: 8080, request_timeout_ms: 60_000 });
    expect(config.plugin).toMatchObject({ concurrency: 0, init_timeout_ms: 60_000, fini_timeout_ms: 10_000 });
    expect(config.plugin.path).toBeUndefined();
    expect(config.wrapper).toEqual({});
    expect(config.limits).toEqual({
      capacity: 64,
      default_deadline_ms: 30_000,
      session_deadline_ms: 600_000,
      session_idle_timeout_ms: 10_000,
      max_message_bytes: 16 * 1024 * 1024,
      drain_grace_ms: 15_000,
      hang_grace_ms: 10_000,
    });
    expect(config.log).toEqual({ level: 'info' });
    expect(config.aiges).toEqual({ realTimeRlt: true });
  });

  it('reads every section of a TOML file, keeping [wrapper] values with their TOML types', () => {
    const file = toml(`
[server]
host = "127.0.0.1"
grpc_port = 0
http_port = 9000

[plugin]
path = "/opt/plugins/asr"
concurrency = 4
init_timeout_ms = 5000

[wrapper]
model_dir = "/models/asr"
beam = 8
use_gpu = true
langs = ["zh", "en"]

[limits]
capacity = 12
session_idle_timeout_ms = 2000

[log]
level = "debug"
`);
    const config = loadConfig({ file });
    expect(config.server).toEqual({ host: '127.0.0.1', grpc_port: 0, http_port: 9000, request_timeout_ms: 60_000 });
    expect(config.plugin).toMatchObject({ path: '/opt/plugins/asr', concurrency: 4, init_timeout_ms: 5000, fini_timeout_ms: 10_000 });
    expect(config.wrapper).toEqual({ model_dir: '/models/asr', beam: 8, use_gpu: true, langs: ['zh', 'en'] });
    expect(config.limits).toMatchObject({ capacity: 12, session_idle_timeout_ms: 2000, default_deadline_ms: 30_000 });
    expect(config.log.level).toBe('debug');
  });

  it("resolves a relative plugin path against the file's folder, not the working directory", () => {
    const file = toml('[plugin]\npath = "plugins/echo"\n');
    expect(loadConfig({ file }).plugin.path).toBe(join(dir, 'plugins/echo'));
    const dotted = toml('[plugin]\npath = "../elsewhere/wrapper.ts"\n');
    expect(loadConfig({ file: dotted }).plugin.path).toBe(join(dir, '../elsewhere/wrapper.ts'));
    // An override path is taken as given.
    expect(loadConfig({ file, overrides: { plugin: { path: 'rel/p' } } }).plugin.path).toBe('rel/p');
  });

  it('reads AIGES_<SECTION>_<KEY> variables, parsing numbers and booleans', () => {
    const config = loadConfig({
      env: {
        AIGES_LIMITS_CAPACITY: '8',
        AIGES_WRAPPER_MODEL_DIR: '/m',
        AIGES_WRAPPER_THRESHOLD: '0.25',
        AIGES_WRAPPER_USE_GPU: 'false',
        AIGES_SERVER_GRPC_PORT: '0',
        AIGES_PLUGIN_INIT_TIMEOUT_MS: '1500',
        AIGES_CONFIG: '/ignored.toml', // names the file, not a key
        PATH: '/usr/bin', // not ours
        AIGES_LOG_LEVEL: undefined,
      },
    });
    expect(config.limits.capacity).toBe(8);
    expect(config.wrapper).toEqual({ model_dir: '/m', threshold: 0.25, use_gpu: false });
    expect(config.server.grpc_port).toBe(0);
    expect(config.plugin.init_timeout_ms).toBe(1500);
    expect(config.log.level).toBe('info');
  });

  it('reads [server.tls] from a file, AIGES_SERVER_TLS_<KEY> and overrides, key by key', () => {
    const file = toml('[server.tls]\ncert_file = "/file/cert.pem"\nkey_file = "/file/key.pem"\n');
    const env = { AIGES_SERVER_TLS_KEY_FILE: '/env/key.pem', AIGES_SERVER_TLS_CLIENT_CA_FILE: '/env/ca.pem' };
    const config = loadConfig({ file, env, overrides: { server: { tls: { client_ca_file: '/flag/ca.pem' } } } });
    expect(config.server.tls).toEqual({ cert_file: '/file/cert.pem', key_file: '/env/key.pem', client_ca_file: '/flag/ca.pem' });
    expect(loadConfig().server.tls).toBeUndefined();
    const err = configError(() => loadConfig({ env: { AIGES_SERVER_TLS_CERT_FILE: '/env/cert.pem' } }));
    expect(err.message).toContain('invalid config key "server.tls.key_file"');
  });

  it("resolves relative [server.tls] files against the file's folder; env and overrides stay as given", () => {
    const file = toml('[server.tls]\ncert_file = "tls/c.pem"\nkey_file = "/abs/k.pem"\nclient_ca_file = "ca.pem"\n');
    expect(loadConfig({ file }).server.tls).toEqual({
      cert_file: join(dir, 'tls/c.pem'),
      key_file: '/abs/k.pem',
      client_ca_file: join(dir, 'ca.pem'),
    });
    expect(loadConfig({ file, env: { AIGES_SERVER_TLS_CERT_FILE: 'rel.pem' } }).server.tls?.cert_file).toBe('rel.pem');
  });

  it('keyPath reaches a subtable with either separator, and leaves other keys whole', () => {
    expect(keyPath('server', 'tls.cert_file', '.')).toEqual(['server', 'tls', 'cert_file']);
    expect(keyPath('server', 'tls_cert_file', '_')).toEqual(['server', 'tls', 'cert_file']);
    expect(keyPath('server', 'grpc_port', '_')).toEqual(['server', 'grpc_port']);
    expect(keyPath('wrapper', 'tls.cert_file', '.')).toEqual(['wrapper', 'tls.cert_file']);
  });

  it('precedence: default < file < env < overrides, key by key', () => {
    const file = toml(
      '[limits]\ncapacity = 10\ndefault_deadline_ms = 1000\nsession_deadline_ms = 2000\n[wrapper]\na = "file"\nb = "file"\n',
    );
    const env = { AIGES_LIMITS_CAPACITY: '20', AIGES_LIMITS_DEFAULT_DEADLINE_MS: '3000', AIGES_WRAPPER_B: 'env' };
    const overrides = { limits: { capacity: 30 } };
    const config = loadConfig({ file, env, overrides });
    expect(config.limits.capacity).toBe(30); // override
    expect(config.limits.default_deadline_ms).toBe(3000); // env over file
    expect(config.limits.session_deadline_ms).toBe(2000); // file over default
    expect(config.limits.session_idle_timeout_ms).toBe(10_000); // default
    expect(config.wrapper).toEqual({ a: 'file', b: 'env' }); // sections merge, not replace
    expect(loadConfig({ file, env }).limits.capacity).toBe(20);
    expect(loadConfig({ file }).limits.capacity).toBe(10);
  });

  it('an unknown key in a section → an error naming "limits.capcity" and the file', () => {
    const file = toml('[limits]\ncapcity = 8\n');
    const err = configError(() => loadConfig({ file }));
    expect(err.message).toContain('"limits.capcity"');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/unknown config key/);
  });

  it('an unknown key from the environment names the environment', () => {
    const err = configError(() => loadConfig({ env: { AIGES_LIMITS_CAPCITY: '8' } }));
    expect(err.message).toContain('"limits.capcity"');
    expect(err.message).toContain('environment');
  });

  it('an unknown top-level section → an error naming it', () => {
    const file = toml('[limit]\ncapacity = 8\n');
    const err = configError(() => loadConfig({ file }));
    expect(err.message).toContain('"limit"');
    expect(err.message).toContain('top level');
    expect(err.message).toContain(file);
  });

  it('a bad value type names the key, the problem and where it came from', () => {
    const file = toml('[limits]\ncapacity = "x"\n');
    const err = configError(() => loadConfig({ file }));
    expect(err.message).toContain('invalid config key "limits.capacity"');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/number/i);

    const fromEnv = configError(() => loadConfig({ env: { AIGES_LIMITS_CAPACITY: 'lots' } }));
    expect(fromEnv.message).toContain('"limits.capacity"');
    expect(fromEnv.message).toContain('from environment');
  });

  it('[plugin.batching]: sizes and delays are checked, unknown keys refused; absent keys stay absent (the plugin decides)', () => {
    const ok = loadConfig({
      file: toml('[plugin.batching]\nmax_batch_size = 16\nmax_queue_delay_ms = 5\npreferred_batch_sizes = [4, 8]\n'),
    });
    expect(ok.plugin.batching).toEqual({ max_batch_size: 16, max_queue_delay_ms: 5, preferred_batch_sizes: [4, 8] });
    expect(loadConfig({ file: toml('[plugin.batching]\nmax_batch_size = 8\n') }).plugin.batching).toEqual({ max_batch_size: 8 });
    expect(loadConfig({}).plugin.batching).toBeUndefined();
    expect(loadConfig({ env: { AIGES_PLUGIN_BATCHING_MAX_BATCH_SIZE: '32' } }).plugin.batching).toEqual({ max_batch_size: 32 });
    expect(configError(() => loadConfig({ file: toml('[plugin.batching]\nmax_batch_size = -1\n') })).message).toContain(
      'invalid config key "plugin.batching.max_batch_size"',
    );
    expect(configError(() => loadConfig({ file: toml('[plugin.batching]\nmax_queue_delay_ms = 1.5\n') })).message).toContain(
      'invalid config key "plugin.batching.max_queue_delay_ms"',
    );
    expect(configError(() => loadConfig({ file: toml('[plugin.batching]\npreferred_batch_sizes = [0]\n') })).message).toContain(
      'invalid config key "plugin.batching.preferred_batch_sizes.0"',
    );
    expect(configError(() => loadConfig({ file: toml('[plugin.batching]\nmax_batch = 8\n') })).message).toContain(
      'unknown config key "plugin.batching.max_batch"',
    );
  });

  it('a bad value from the command line is blamed on the command line, even when the file set it too', () => {
    const file = toml('[server]\nhttp_port = 8081\n');
    const err = configError(() => loadConfig({ file, overrides: { server: { http_port: 70_000 } } }));
    expect(err.message).toContain('"server.http_port"');
    expect(err.message).toContain('command line');
    expect(err.message).not.toContain(file);
  });

  it.each([
    ['a negative port', '[server]\ngrpc_port = -1\n', 'server.grpc_port'],
    ['a port above 65535', '[server]\nhttp_port = 65536\n', 'server.http_port'],
    ['a fractional capacity', '[limits]\ncapacity = 1.5\n', 'limits.capacity'],
    ['a zero capacity', '[limits]\ncapacity = 0\n', 'limits.capacity'],
    ['an unknown log level', '[log]\nlevel = "loud"\n', 'log.level'],
    ['an unknown plugin kind', '[plugin]\nkind = "python"\n', 'plugin.kind'],
    ['a section that is not a table', 'limits = 3\n', 'limits'],
    ['a duration longer than a timer waits', '[limits]\nsession_deadline_ms = 3000000000\n', 'limits.session_deadline_ms'],
    ['a negative drain grace', '[limits]\ndrain_grace_ms = -1\n', 'limits.drain_grace_ms'],
  ])('rejects %s naming the key', (_name, text, key) => {
    const err = configError(() => loadConfig({ file: toml(text) }));
    expect(err.message).toContain(`"${key}"`);
  });

  it('says why a duration is too long', () => {
    const err = configError(() => loadConfig({ file: toml('[plugin]\ninit_timeout_ms = 2147483648\n') }));
    expect(err.message).toContain('"plugin.init_timeout_ms"');
    expect(err.message).toContain('at most 2147483647 ms (about 24.8 days), the longest a timer waits');
  });

  it('reports every problem at once', () => {
    const err = configError(() => loadConfig({ file: toml('[limits]\ncapcity = 8\ncapacity = -1\n[server]\ngrpc_port = "x"\n') }));
    expect(err.message).toContain('limits.capcity');
    expect(err.message).toContain('limits.capacity');
    expect(err.message).toContain('server.grpc_port');
  });

  it('invalid TOML → a clear error naming the file', () => {
    const file = toml('[limits\ncapacity = 8\n');
    const err = configError(() => loadConfig({ file }));
    expect(err.message).toContain(`config file ${file} is not valid TOML`);
  });

  it('a missing file → a clear error naming it', () => {
    const file = join(dir, 'missing.toml');
    const err = configError(() => loadConfig({ file }));
    expect(err.message).toContain(`cannot read config file ${file}`);
  });

  it('AIGES_FOO (no section) → an error naming the variable', () => {
    const err = configError(() => loadConfig({ env: { AIGES_FOO: '1' } }));
    expect(err.message).toContain('AIGES_FOO');
    expect(err.message).toContain('[section] key');
    const trailing = configError(() => loadConfig({ env: { AIGES__CAPACITY: '1' } }));
    expect(trailing.message).toContain('AIGES__CAPACITY');
  });

  it('AIGES_FOO_BAR (unknown section) → an unknown key error from the environment', () => {
    const err = configError(() => loadConfig({ env: { AIGES_FOO_BAR: '1' } }));
    expect(err.message).toContain('"foo"');
    expect(err.message).toContain('environment');
  });

  it('the result is deeply frozen', () => {
    const config = loadConfig({ file: toml('[wrapper]\nlangs = ["zh"]\n[wrapper.nested]\nk = 1\n') });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config.limits as { capacity: number }).capacity = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config as { log: unknown }).log = {};
    }).toThrow(TypeError);
    expect(() => {
      (config.wrapper as Record<string, unknown>)['x'] = 1;
    }).toThrow(TypeError);
    expect(() => (config.wrapper['langs'] as string[]).push('en')).toThrow(TypeError);
    expect(Object.isFrozen(config.wrapper['nested'])).toBe(true);
    expect(config.limits.capacity).toBe(64);
  });

  it('does not change the overrides object it was given', () => {
    const overrides = { limits: { capacity: 3 } };
    loadConfig({ overrides });
    expect(Object.isFrozen(overrides)).toBe(false);
    expect(Object.isFrozen(overrides.limits)).toBe(false);
    overrides.limits.capacity = 4;
    expect(overrides.limits.capacity).toBe(4);
    // Also when a lower layer set the same section (values are merged in, not the section copied).
    const langs = ['zh'];
    const config = loadConfig({ env: { AIGES_WRAPPER_BEAM: '4' }, overrides: { wrapper: { langs } } });
    expect(config.wrapper).toEqual({ beam: 4, langs: ['zh'] });
    expect(Object.isFrozen(langs)).toBe(false);
    expect(Object.isFrozen(config.wrapper['langs'])).toBe(true);
  });
});

describe('keys that name prototypes', () => {
  const polluted = () => Reflect.ownKeys(Object.prototype).filter((k) => k === 'polluted' || k === 'host');

  it('[__proto__] in a file is an unknown key, and Object.prototype is left alone', () => {
    const err = configError(() => loadConfig({ file: toml('[__proto__]\npolluted = 1\nhost = "x"\n') }));
    expect(err.message).toContain('unknown config key "__proto__" (in top level');
    expect(polluted()).toEqual([]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it("a section's __proto__ and constructor are unknown keys of that section", () => {
    const err = configError(() => loadConfig({ file: toml('[server.__proto__]\npolluted = 1\n[limits.constructor]\nprototype = 1\n') }));
    expect(err.message).toContain('unknown config key "server.__proto__"');
    expect(err.message).toContain('unknown config key "limits.constructor"');
    expect(polluted()).toEqual([]);
  });

  it('--set __proto__.x and constructor.prototype (setPath) make keys, not prototype writes', () => {
    const tree: Record<string, unknown> = {};
    setPath(tree, keyPath('__proto__', 'polluted', '.'), 1);
    setPath(tree, keyPath('constructor', 'prototype', '.'), 1);
    expect(polluted()).toEqual([]);
    const err = configError(() => loadConfig({ overrides: tree }));
    expect(err.message).toContain('unknown config key "__proto__" (in top level, from command line)');
    expect(err.message).toContain('unknown config key "constructor" (in top level, from command line)');
  });

  it('AIGES_CONSTRUCTOR_PROTOTYPE is an unknown key from the environment', () => {
    const err = configError(() => loadConfig({ env: { AIGES_CONSTRUCTOR_PROTOTYPE: '1', AIGES___PROTO___X: '1' } }));
    expect(err.message).toContain('AIGES___PROTO___X');
    const alone = configError(() => loadConfig({ env: { AIGES_CONSTRUCTOR_PROTOTYPE: '1' } }));
    expect(alone.message).toContain('unknown config key "constructor" (in top level, from environment)');
  });

  it('a key set both as a value and as a table is a ConfigError naming it', () => {
    const err = configError(() => loadConfig({ env: { AIGES_SERVER_TLS: '1', AIGES_SERVER_TLS_CERT_FILE: 'c.pem' } }));
    expect(err.message).toContain('"server.tls" is set both as a value and as a table');
  });
});

describe('parseScalar', () => {
  it.each([
    ['8', 8],
    ['0.5', 0.5],
    ['-3', -3],
    ['true', true],
    ['false', false],
    ['/models', '/models'],
    ['hello world', 'hello world'],
    ['"quoted"', '"quoted"'],
    ['2024-01-01', '2024-01-01'],
    ['', ''],
    // TOML's special floats are not what an env var means: "nan" is a language code.
    ['nan', 'nan'],
    ['inf', 'inf'],
    ['-inf', '-inf'],
  ])('%j → %j', (input, expected) => {
    expect(parseScalar(input)).toEqual(expected);
  });
});

describe('[auth]', () => {
  it('is off by default, and its keys file is relative to the config file', () => {
    expect(loadConfig().auth).toEqual({
      mode: 'none',
      keys_source: 'file',
      clock_skew_s: 300,
      replay_cache_max: 1_000_000,
      open_metrics: false,
    });
    const config = loadConfig({ file: toml('[auth]\nmode = "aksk"\nkeys_file = "keys.toml"\n') });
    expect(config.auth.keys_file).toBe(join(dir, 'keys.toml'));
  });

  it('needs keys_file with mode "aksk", and a skew within 1..3600 s', () => {
    expect(configError(() => loadConfig({ overrides: { auth: { mode: 'aksk' } } })).message).toMatch(/auth\.keys_file.*needs keys_file/);
    expect(configError(() => loadConfig({ overrides: { auth: { clock_skew_s: 0 } } })).message).toMatch(/auth\.clock_skew_s/);
  });

  it('leaves $AIGES_ACCESS_KEY and $AIGES_SECRET_KEY (client credentials) out of the config', () => {
    expect(loadConfig({ env: { AIGES_ACCESS_KEY: 'ak', AIGES_SECRET_KEY: 'c2s=', AIGES_AUTH_MODE: 'none' } }).auth.mode).toBe('none');
  });
});
