/**
 * runXtest over TLS (grpcs:// and https:// targets) against a real loader that requires client
 * certificates: the TLS files make the calls succeed, an untrusting client's calls fail as calls,
 * and an unreadable file stops the run before any call.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../../loader/loader.js';
import { XtestCodes } from '../../../loader/tools/xtest/errors.js';
import type { XtestTarget } from '../../../loader/tools/xtest/options.js';
import { runXtest, startXtest } from '../../../loader/tools/xtest/runner.js';
import { DataType } from '../../../plugins/types.js';
import { certDir, makeCa, makeCert, type TestCa, type TestCert } from '../../lib/certs.js';
import { startLoader } from '../../server/http-helpers.js';

let dir: string;
let ca: TestCa;
let clientCert: TestCert;
let loader: Loader;
beforeAll(async () => {
  dir = certDir();
  ca = makeCa(dir, 'xtest-ca');
  const server = makeCert(ca, 'server');
  clientCert = makeCert(ca, 'client');
  loader = await startLoader({ server: { tls: { cert_file: server.certFile, key_file: server.keyFile, client_ca_file: ca.caFile } } });
});
afterAll(() => loader?.stop());

const text = { key: 'text', source: { text: 'x' }, type: DataType.TEXT, encoding: 'utf8', attributes: {} };

describe.each<XtestTarget['protocol']>(['grpc', 'http'])('runXtest over TLS (%s)', (protocol) => {
  const target = (): XtestTarget =>
    protocol === 'grpc'
      ? { protocol, address: `grpcs://127.0.0.1:${loader.grpcPort}` }
      : { protocol, url: `https://127.0.0.1:${loader.httpPort}` };

  it('calls with the CA and a client certificate', async () => {
    const tls = { caFile: ca.caFile, certFile: clientCert.certFile, keyFile: clientCert.keyFile };
    const r = await runXtest({ target: target(), service: 'echo', concurrency: 2, requests: 10, inputs: [text], tls });
    expect(r.requests).toEqual({ total: 10, succeeded: 10, failed: 0 });
  });

  it('counts the calls of a client without a certificate as failures', async () => {
    const r = await runXtest({ target: target(), service: 'echo', requests: 3, inputs: [text], tls: { caFile: ca.caFile } });
    expect(r.requests).toMatchObject({ total: 3, succeeded: 0, failed: 3 });
    expect(r.errors.map((e) => e.code)).toEqual([expect.stringMatching(protocol === 'grpc' ? /^grpc:UNAVAILABLE$/ : /^net:/)]);
  });
});

describe('xtest TLS files', () => {
  it('an unreadable one stops the run before any call (XTEST_INPUT_UNREADABLE)', () => {
    const target: XtestTarget = { protocol: 'grpc', address: `grpcs://127.0.0.1:${loader.grpcPort}` };
    expect(() => startXtest({ target, service: 'echo', tls: { caFile: join(dir, 'none.pem') } })).toThrow(
      expect.objectContaining({ code: XtestCodes.INPUT_UNREADABLE, message: expect.stringMatching(/cannot read the CA file .*none\.pem/) }),
    );
    expect(() => startXtest({ target, service: 'echo', tls: { certFile: clientCert.certFile } })).toThrow(
      expect.objectContaining({ code: XtestCodes.INVALID_OPTION, message: expect.stringMatching(/go together/) }),
    );
  });
});
