/**
 * Hot config (pushed versions) and the [polaris] section: what a push may hold, how a version
 * lands on the startup config, and the section's checks.
 */
import { describe, expect, it } from 'vitest';
import { applyHotConfig, HotConfigError, hotChanges, parseHotConfig } from '../../loader/config/hot.js';
import { ConfigError, loadConfig } from '../../loader/config/load.js';

const base = loadConfig({
  overrides: { wrapper: { model: 'a', threads: 2 }, limits: { capacity: 8, default_deadline_ms: 1_000 }, log: { level: 'warn' } },
});

describe('parseHotConfig', () => {
  it('accepts [wrapper], [limits] and [log] that pass the schema', () => {
    expect(parseHotConfig('[wrapper]\nmodel = "b"\n[limits]\ncapacity = 4\n[log]\nlevel = "debug"\n')).toEqual({
      wrapper: { model: 'b' },
      limits: { capacity: 4 },
      log: { level: 'debug' },
    });
  });

  it.each([
    ['[server]\nhost = "x"\n', /^key "server" cannot be pushed: a pushed config may hold only \[wrapper\], \[limits\], \[log\]/],
    ['top = 1\n', /^key "top" cannot be pushed/],
    ['[polaris]\nendpoints = []\n', /^key "polaris" cannot be pushed/],
    ['[limits]\nmax_message_bytes = 1\n', /^key "limits.max_message_bytes" cannot be pushed: the gRPC and HTTP transports/],
    ['[limits]\ncapacity = 1.5\n', /^invalid config key "limits.capacity"/],
    ['[log]\nlevel = "loud"\n', /^invalid config key "log.level"/],
    ['[limits]\ncapacity = 2\nspeed = 3\n', /^unknown config key "limits.speed"/],
    ['[limits\n', /^not valid TOML/],
  ])('refuses %j naming the key', (toml, message) => {
    expect(() => parseHotConfig(toml)).toThrow(HotConfigError);
    expect(() => parseHotConfig(toml)).toThrow(message);
  });
});

describe('applyHotConfig', () => {
  it('overrides the keys a version names; the rest keeps its startup value', () => {
    const next = applyHotConfig(base, '[wrapper]\nmodel = "b"\n[limits]\ncapacity = 2\n');
    expect(next.wrapper).toEqual({ model: 'b', threads: 2 });
    expect(next.limits).toMatchObject({ capacity: 2, default_deadline_ms: 1_000 });
    expect(next.log.level).toBe('warn');
    expect([...hotChanges(base, next)].sort()).toEqual(['limits', 'wrapper']);
  });

  it('is not cumulative: each version lands on the startup config, and none gives it back', () => {
    const v1 = applyHotConfig(base, '[log]\nlevel = "debug"\n');
    const v2 = applyHotConfig(base, '[limits]\ncapacity = 3\n');
    expect(v2.log.level).toBe('warn');
    expect([...hotChanges(v1, v2)].sort()).toEqual(['limits', 'log']);
    expect(applyHotConfig(base, undefined)).toBe(base);
    expect(hotChanges(base, applyHotConfig(base, '[limits]\ncapacity = 8\n')).size).toBe(0);
  });
});

describe('[polaris] section', () => {
  it('is absent by default (standalone) and fills its defaults when present', () => {
    expect(loadConfig().polaris).toBeUndefined();
    expect(loadConfig({ overrides: { polaris: { endpoints: ['http://10.0.0.1:2379'] } } }).polaris).toEqual({
      endpoints: ['http://10.0.0.1:2379'],
      service_version: '1',
      ttl_s: 5,
      labels: {},
    });
  });

  it('takes endpoints from AIGES_POLARIS_ENDPOINTS as a comma-separated list', () => {
    const config = loadConfig({ env: { AIGES_POLARIS_ENDPOINTS: 'http://a:2379, http://b:2379', AIGES_POLARIS_TTL_S: '2' } });
    expect(config.polaris).toMatchObject({ endpoints: ['http://a:2379', 'http://b:2379'], ttl_s: 2 });
  });

  it.each([
    [{ endpoints: [] }, /polaris.endpoints/],
    [{ endpoints: ['127.0.0.1:2379'] }, /polaris.endpoints.0.*http:\/\/ or https:\/\//],
    [{ endpoints: ['http://a:1'], cert_file: '/c.pem' }, /polaris.cert_file.*cert_file and key_file go together/],
    [{ endpoints: ['http://a:1'], username: 'u' }, /polaris.username.*username and password go together/],
    [{ endpoints: ['http://a:1'], ttl_s: 0 }, /polaris.ttl_s/],
    [{ endpoints: ['http://a:1'], service: 'a/b' }, /polaris.service/],
  ])('refuses %j', (polaris, message) => {
    expect(() => loadConfig({ overrides: { polaris } })).toThrow(ConfigError);
    expect(() => loadConfig({ overrides: { polaris } })).toThrow(message);
  });
});
