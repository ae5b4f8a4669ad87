/** The target argument of `aiges call` and `aiges xtest`: host:port or grpcs://host:port is gRPC, an http(s) URL is HTTP. */
import { describe, expect, it } from 'vitest';
import { looksLikeTarget, parseTarget } from '../../loader/tools/target.js';
import { runToExit } from '../cli/serve-process.js';

describe('parseTarget', () => {
  it.each([
    ['127.0.0.1:5090', { protocol: 'grpc', address: '127.0.0.1:5090' }],
    ['[::1]:5090', { protocol: 'grpc', address: '[::1]:5090' }],
    ['loader.internal:5090', { protocol: 'grpc', address: 'loader.internal:5090' }],
    ['grpcs://loader.internal:5090', { protocol: 'grpc', address: 'grpcs://loader.internal:5090' }],
    ['grpc://127.0.0.1:5090', { protocol: 'grpc', address: 'grpc://127.0.0.1:5090' }],
    ['http://127.0.0.1:8080', { protocol: 'http', url: 'http://127.0.0.1:8080' }],
    ['https://gw.example/aiges', { protocol: 'http', url: 'https://gw.example/aiges' }],
  ])('%s', (text, target) => {
    expect(parseTarget(text, 'BAD')).toEqual(target);
  });

  it.each(['echo', 'localhost', 'ftp://host/x', '127.0.0.1:port', 'grpcs://localhost'])('refuses %j with the given code', (text) => {
    expect(() => parseTarget(text, 'BAD')).toThrow(
      expect.objectContaining({
        code: 'BAD',
        message: `the target must be host:port or grpcs://host:port (gRPC) or an http:// or https:// URL (HTTP), got "${text}"`,
      }),
    );
    expect(looksLikeTarget(text)).toBe(false);
  });
});

describe('aiges call <target> <service>', () => {
  it('names the order when the service comes first, and refuses an HTTP target (call speaks gRPC)', async () => {
    const swapped = await runToExit(['call', 'echo', '127.0.0.1:1', '--text', 'text=x']);
    expect([swapped.code, swapped.stderr]).toEqual([
      2,
      'aiges call: [CALL_INVALID_FLAG] the target comes first, then the service: aiges call 127.0.0.1:1 echo\n',
    ]);
    const http = await runToExit(['call', 'http://127.0.0.1:1', 'echo', '--text', 'text=x']);
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/^aiges call: \[CALL_INVALID_FLAG\] aiges call speaks gRPC: give the loader's gRPC address/);
  });
});
