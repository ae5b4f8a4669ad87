/** Unit tests of the options' defaults and checks. */
import { describe, expect, it } from 'vitest';
import { XtestCodes } from '../../../loader/tools/xtest/errors.js';
import { DEFAULT_REQUESTS, parseDuration, resolveOptions, type XtestOptionsInput } from '../../../loader/tools/xtest/options.js';

const base: XtestOptionsInput = { target: { protocol: 'grpc', address: '127.0.0.1:5090' }, service: 'echo' };

describe('resolveOptions', () => {
  it('fills in the defaults', () => {
    const o = resolveOptions(base);
    expect(o).toMatchObject({
      mode: 'once',
      concurrency: 1,
      requests: DEFAULT_REQUESTS,
      durationMs: undefined,
      rampUpMs: 0,
      inputs: [],
      params: {},
      frameIntervalMs: 0,
      sampleMs: 1000,
    });
  });

  it('takes TLS files with a grpcs:// or https:// target', () => {
    const tls = { caFile: 'ca.pem' };
    expect(resolveOptions({ ...base, target: { protocol: 'grpc', address: 'grpcs://h:5090' }, tls }).tls).toEqual(tls);
    expect(resolveOptions({ ...base, target: { protocol: 'http', url: 'https://h:8080' }, tls }).tls).toEqual(tls);
    expect(resolveOptions(base).tls).toEqual({});
  });

  it('keeps a duration without a count', () => {
    expect(resolveOptions({ ...base, durationMs: 500 })).toMatchObject({ requests: undefined, durationMs: 500 });
  });

  it.each<[Partial<XtestOptionsInput>, RegExp]>([
    [{ requests: 10, durationMs: 1000 }, /a request count or a duration, not both/],
    [{ concurrency: 0 }, /concurrency must be an integer of at least 1/],
    [{ requests: 1.5 }, /requests must be an integer/],
    [{ sampleMs: 5 }, /sample interval \(ms\) must be an integer of at least 10/],
    [{ frameBytes: 100 }, /apply to session mode only/],
    [{ mode: 'stream' as 'once' }, /mode must be once or session/],
    [{ service: '' }, /service must not be empty/],
    [{ target: { protocol: 'grpc', address: 'localhost' } }, /gRPC target must be host:port/],
    [{ target: { protocol: 'http', url: 'not a url' } }, /HTTP target must be a URL/],
    [{ target: { protocol: 'http', url: 'ftp://host/' } }, /must be an http:\/\/ or https:\/\/ URL/],
    [{ target: { protocol: 'grpc', address: 'grpcs://localhost' } }, /gRPC target must be host:port or grpcs:\/\/host:port/],
    [{ tls: { caFile: 'ca.pem' } }, /are for TLS: give a grpcs:\/\/ or https:\/\/ target/],
    [{ target: { protocol: 'http', url: 'http://h:1' }, tls: { certFile: 'c.pem' } }, /are for TLS/],
  ])('refuses %j with XTEST_INVALID_OPTION', (patch, message) => {
    expect(() => resolveOptions({ ...base, ...patch })).toThrow(
      expect.objectContaining({ code: XtestCodes.INVALID_OPTION, message: expect.stringMatching(message) }),
    );
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text, '--duration')).toBe(ms));

  it.each(['10', '5 minutes', '-1s', 's'])('refuses "%s"', (text) => {
    expect(() => parseDuration(text, '--duration')).toThrow(
      expect.objectContaining({ code: XtestCodes.INVALID_OPTION, message: expect.stringContaining('--duration expects a duration') }),
    );
  });
});
