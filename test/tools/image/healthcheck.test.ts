/** The base images' HEALTHCHECK script against a real loader: 0 while ready, 1 when nothing answers. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServe } from '../../cli/serve-process.js';
import { certDir, makeCa, makeCert } from '../../lib/certs.js';
import { freePort } from './store.js';

const SCRIPT = join(ROOT, 'dist', 'loader', 'tools', 'image', 'healthcheck.js');
const check = (env: Record<string, string>) =>
  spawnSync(process.execPath, [SCRIPT], { env: { PATH: process.env['PATH'] ?? '', ...env } }).status;

let loader: Awaited<ReturnType<typeof startServe>>;
beforeAll(async () => {
  loader = await startServe(['demo/echo']);
});
afterAll(async () => {
  loader.proc.kill('SIGTERM');
  await loader.exited;
});

describe('healthcheck.js', () => {
  it('exits 0 when /v2/health/ready answers 200 on AIGES_SERVER_HTTP_PORT', () => {
    expect(check({ AIGES_SERVER_HTTP_PORT: String(loader.httpPort) })).toBe(0);
  });

  it('exits 1 when nothing listens there', async () => {
    expect(check({ AIGES_SERVER_HTTP_PORT: String(await freePort()) })).toBe(1);
  });

  it('exits 1 once the loader is stopping (ready 503 while it drains, then nothing listens)', async () => {
    loader.proc.kill('SIGTERM');
    await loader.waitForLog('draining');
    expect(check({ AIGES_SERVER_HTTP_PORT: String(loader.httpPort) })).toBe(1);
  });
});

describe('healthcheck.js with AIGES_SERVER_TLS_CERT_FILE', () => {
  it('asks over https (0 while ready), and fails against a plaintext port', async () => {
    const ca = makeCa(certDir(), 'health-ca');
    const cert = makeCert(ca, 'loader');
    const env = { AIGES_SERVER_TLS_CERT_FILE: cert.certFile, AIGES_SERVER_TLS_KEY_FILE: cert.keyFile };
    const secure = await startServe(['demo/echo'], env);
    const plain = await startServe(['demo/echo']);
    try {
      expect(check({ ...env, AIGES_SERVER_HTTP_PORT: String(secure.httpPort) })).toBe(0);
      expect(check({ AIGES_SERVER_HTTP_PORT: String(secure.httpPort) })).toBe(1);
      expect(check({ ...env, AIGES_SERVER_HTTP_PORT: String(plain.httpPort) })).toBe(1);
    } finally {
      secure.proc.kill('SIGTERM');
      plain.proc.kill('SIGTERM');
      await Promise.all([secure.exited, plain.exited]);
    }
  });
});
