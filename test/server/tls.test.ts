/**
 * TLS on the loader's ports ([server.tls]): real handshakes on port 0 with certificates made by
 * openssl. gRPC and HTTP over TLS; plaintext clients refused cleanly; mutual TLS; certificates
 * replaced on disk served to new connections without a restart, and bad replacements refused.
 */
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { type ClientTls, createLoaderClient, infer, type LoaderClient } from '../../loader/tools/client.js';
import { makePki, servedCn as servedCnBy, type TestCa, type TestCert } from '../lib/certs.js';
import { startTestLoader } from '../polaris/helpers.js';
import { expectGrpcError, textItem } from './grpc-helpers.js';
import { startLoader } from './http-helpers.js';

let dir: string;
let ca: TestCa;
let otherCa: TestCa;
let server: TestCert;
let renewed: TestCert;
let client: TestCert;
let stranger: TestCert;
beforeAll(() => {
  const pki = makePki('loader-ca', ['server', 'renewed', 'client']);
  ({ dir, ca, otherCa, stranger } = pki);
  ({ server, renewed, client } = pki.certs);
});

const pem = (file: string) => readFileSync(file);
const trust = (): ClientTls => ({ ca: pem(ca.caFile) });
const identity = (cert: TestCert): ClientTls => ({ ca: pem(ca.caFile), cert: pem(cert.certFile), key: pem(cert.keyFile) });

function grpcsClient(loader: Loader, tls: ClientTls): LoaderClient {
  return createLoaderClient(`grpcs://127.0.0.1:${loader.grpcPort}`, {}, tls);
}

async function echo(c: LoaderClient, text = 'over tls'): Promise<string> {
  const res = await infer(c, { service: 'echo', items: [textItem(text)] }, 5_000);
  return res.items[0]?.data.toString() ?? '';
}

/** GET over https with `tls`; resolves with status and body, rejects when the connection fails. */
async function httpsGet(loader: Loader, path: string, tls: ClientTls): Promise<{ status: number; body: string }> {
  const dispatcher = new Agent({ connect: { ...tls } });
  try {
    const res = await request(`https://127.0.0.1:${loader.httpPort}${path}`, { dispatcher });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await dispatcher.close();
  }
}

const servedCn = (port: number, alpn: string) => servedCnBy(port, ca.caFile, alpn);

describe('TLS on both ports', () => {
  let loader: Loader;
  beforeAll(async () => {
    loader = await startLoader({ server: { tls: { cert_file: server.certFile, key_file: server.keyFile } } });
  });
  afterAll(() => loader?.stop());

  it('serves a gRPC call and an HTTP call over TLS', async () => {
    const c = grpcsClient(loader, trust());
    try {
      expect(await echo(c)).toBe('over tls');
    } finally {
      c.close();
    }
    expect(await httpsGet(loader, '/v2/health/ready', trust())).toEqual({ status: 200, body: '{"ready":true}' });
  });

  it('refuses plaintext clients cleanly and serves on', async () => {
    const plain = createLoaderClient(`127.0.0.1:${loader.grpcPort}`);
    try {
      await expectGrpcError(echo(plain), grpc.status.UNAVAILABLE, undefined);
    } finally {
      plain.close();
    }
    await expect(fetch(`http://127.0.0.1:${loader.httpPort}/v2/health/ready`)).rejects.toThrow(/fetch failed/);
    const c = grpcsClient(loader, trust());
    try {
      expect(await echo(c, 'still serving')).toBe('still serving');
    } finally {
      c.close();
    }
  });

  it('is refused by a client that does not trust its CA', async () => {
    const c = grpcsClient(loader, { ca: pem(otherCa.caFile) });
    try {
      await expectGrpcError(echo(c), grpc.status.UNAVAILABLE, undefined);
    } finally {
      c.close();
    }
    await expect(httpsGet(loader, '/v2/health/ready', { ca: pem(otherCa.caFile) })).rejects.toThrow(
      /self-signed|unable to verify|certificate/,
    );
  });
});

describe('mutual TLS ([server.tls] client_ca_file)', () => {
  let loader: Loader;
  beforeAll(async () => {
    loader = await startLoader({ server: { tls: { cert_file: server.certFile, key_file: server.keyFile, client_ca_file: ca.caFile } } });
  });
  afterAll(() => loader?.stop());

  it('accepts a client certificate of its CA on both ports', async () => {
    const c = grpcsClient(loader, identity(client));
    try {
      expect(await echo(c, 'mutual')).toBe('mutual');
    } finally {
      c.close();
    }
    expect((await httpsGet(loader, '/v2/health/live', identity(client))).status).toBe(200);
  });

  it('refuses a client without a certificate', async () => {
    const c = grpcsClient(loader, trust());
    try {
      await expectGrpcError(echo(c), grpc.status.UNAVAILABLE, undefined);
    } finally {
      c.close();
    }
    await expect(httpsGet(loader, '/v2/health/live', trust())).rejects.toThrow(/certificate|socket|closed/i);
  });

  it('refuses a client certificate signed by another CA', async () => {
    const c = grpcsClient(loader, identity(stranger));
    try {
      await expectGrpcError(echo(c), grpc.status.UNAVAILABLE, undefined);
    } finally {
      c.close();
    }
    await expect(httpsGet(loader, '/v2/health/live', identity(stranger))).rejects.toThrow(/certificate|socket|closed/i);
  });
});

describe('certificates replaced while the loader runs', () => {
  /** The server certificate under file names of this test's own, which it overwrites. */
  function ownFiles(name: string): TestCert {
    const own = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
    copyFileSync(server.certFile, own.certFile);
    copyFileSync(server.keyFile, own.keyFile);
    return own;
  }

  it('serves a certificate replaced on disk to the next new connection, without a restart', async () => {
    const files = ownFiles('rotated');
    const { loader, waitForLog } = await startTestLoader({ server: { tls: { cert_file: files.certFile, key_file: files.keyFile } } });
    const before = createLoaderClient(`grpcs://127.0.0.1:${loader.grpcPort}`, {}, trust());
    try {
      await infer(before, { service: 'configurable', items: [textItem('x')] }, 5_000);
      expect(await servedCn(loader.grpcPort, 'h2')).toBe('server');
      // The way certificate managers replace files: write aside, rename over.
      copyFileSync(renewed.keyFile, `${files.keyFile}.new`);
      copyFileSync(renewed.certFile, `${files.certFile}.new`);
      renameSync(`${files.keyFile}.new`, files.keyFile);
      renameSync(`${files.certFile}.new`, files.certFile);
      await waitForLog('TLS certificates reloaded');
      expect(await servedCn(loader.grpcPort, 'h2')).toBe('renewed');
      expect(await servedCn(loader.httpPort, 'http/1.1')).toBe('renewed');
      // The connection made before keeps working; a new client gets the new certificate.
      await infer(before, { service: 'configurable', items: [textItem('x')] }, 5_000);
      const after = createLoaderClient(`grpcs://127.0.0.1:${loader.grpcPort}`, {}, trust());
      try {
        await infer(after, { service: 'configurable', items: [textItem('x')] }, 5_000);
      } finally {
        after.close();
      }
    } finally {
      before.close();
      await loader.stop();
    }
  });

  it('keeps the old certificate when the replacement is bad, and logs why', async () => {
    const files = ownFiles('botched');
    const { loader, waitForLog } = await startTestLoader({ server: { tls: { cert_file: files.certFile, key_file: files.keyFile } } });
    try {
      writeFileSync(files.certFile, 'truncated');
      const refused = await waitForLog('TLS certificate reload refused; the previous certificates stay in use');
      expect(refused['reason']).toMatch(/botched\.pem holds no PEM certificate/);
      expect(await servedCn(loader.grpcPort, 'h2')).toBe('server');
      expect(await servedCn(loader.httpPort, 'http/1.1')).toBe('server');
      // SIGHUP's path: half a rotation (a new certificate with the old key) is refused too.
      copyFileSync(renewed.certFile, files.certFile);
      expect(loader.reloadTls()).toBe(false);
      const c = createLoaderClient(`grpcs://127.0.0.1:${loader.grpcPort}`, {}, trust());
      try {
        await infer(c, { service: 'configurable', items: [textItem('x')] }, 5_000);
      } finally {
        c.close();
      }
      expect(await servedCn(loader.grpcPort, 'h2')).toBe('server');
    } finally {
      await loader.stop();
    }
  });
});

describe('[server.tls] at startup', () => {
  it('stops a loader whose files cannot serve, naming the file', () => {
    const make = (tls: Record<string, string>) =>
      new Loader(loadConfig({ overrides: { server: { tls }, plugin: { path: 'demo/echo' }, log: { level: 'silent' } } }));
    expect(() => make({ cert_file: join(dir, 'absent.pem'), key_file: server.keyFile })).toThrow(
      /cannot read the certificate file .*absent\.pem/,
    );
    expect(() => make({ cert_file: server.certFile, key_file: client.keyFile })).toThrow(/key values mismatch/);
    expect(() => make({ cert_file: server.certFile, key_file: server.keyFile, client_ca_file: server.keyFile })).toThrow(
      /CA file .*server\.key holds no PEM certificate/,
    );
  });

  it('says which key is missing', () => {
    expect(() => loadConfig({ overrides: { server: { tls: { cert_file: server.certFile } } } })).toThrow(/server\.tls\.key_file/);
    expect(() => loadConfig({ overrides: { server: { tls: { cert_file: 'a', key_file: 'b', ca_file: 'c' } } } })).toThrow(
      /unknown config key "server\.tls\.ca_file"/,
    );
  });
});
