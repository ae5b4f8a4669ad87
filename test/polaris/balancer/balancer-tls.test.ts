/**
 * The balancer and TLS, on a real etcd: a TLS front (mutual TLS when it has a client CA) whose
 * certificate follows its files; loaders that register `tls: true` dialled over TLS, with the
 * balancer's client certificate where they require one; plaintext registrations served as before.
 * Then the same through the CLI: aiges serve, aiges lb and aiges call with their TLS flags.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../loader/log.js';
import { TlsFiles } from '../../../loader/lib/tls-files.js';
import type { Loader } from '../../../loader/loader.js';
import { type ClientTls, createLoaderClient, runSession } from '../../../loader/tools/client.js';
import { EtcdPolaris } from '../../../polaris/store/polaris-etcd.js';
import { runCli, runToExit, startServe } from '../../cli/serve-process.js';
import { makePki, servedCn, type TestCa, type TestCert } from '../../lib/certs.js';
import { expectGrpcError, textItem } from '../../server/grpc-helpers.js';
import { startLoader } from '../../server/http-helpers.js';
import { TestEtcd } from '../etcd.js';
import { echoCall, onceCalls, type RunningBalancer, startBalancerWith } from './helpers.js';

let etcd: TestEtcd;
let polaris: EtcdPolaris;
let dir: string;
let ca: TestCa;
let loaderCert: TestCert;
let frontCert: TestCert;
let balancerCert: TestCert;
let clientCert: TestCert;
let stranger: TestCert;
const log = createLogger('silent');
const opened: TlsFiles[] = [];

beforeAll(async () => {
  etcd = await TestEtcd.start();
  polaris = new EtcdPolaris({ endpoints: [etcd.endpoint] });
  const pki = makePki('fleet-ca', ['loader', 'front', 'balancer', 'client']);
  ({ dir, ca, stranger } = pki);
  ({ loader: loaderCert, front: frontCert, balancer: balancerCert, client: clientCert } = pki.certs);
}, 60_000);
afterAll(async () => {
  for (const f of opened) f.close();
  await polaris?.close();
  await etcd?.stop();
});

function files(paths: { certFile?: string; keyFile?: string; caFile?: string }): TlsFiles {
  const f = TlsFiles.load(paths, { log, name: 'test' });
  opened.push(f);
  return f;
}

const pem = (file: string) => readFileSync(file);
const clientTls = (cert?: TestCert): ClientTls => ({
  ca: pem(ca.caFile),
  ...(cert === undefined ? {} : { cert: pem(cert.certFile), key: pem(cert.keyFile) }),
});

/**
 * A loader (echo) registered in etcd as `service`, with `tls` as its [server.tls] (absent:
 * plaintext). Calls name no service (''): the balancer routes them to the one it fronts, the loader
 * to its only plugin.
 */
async function registered(service: string, tls?: Record<string, string>): Promise<Loader> {
  const loader = await startLoader({
    polaris: { endpoints: [etcd.endpoint], service },
    ...(tls === undefined ? {} : { server: { host: '127.0.0.1', grpc_port: 0, http_port: 0, tls } }),
  });
  // NOTE: start() may resolve with the registration still pending (etcd slow to answer): wait for
  // the record, so that a balancer opened next finds it.
  await new Promise<void>((resolve) => {
    const watching = polaris.discovery.watch(service, (instances) => {
      if (!instances.some((i) => i.id === loader.instanceId)) return;
      void watching.then((w) => w.close());
      resolve();
    });
  });
  return loader;
}

/**
 * Waits until the balancer's pool of `service` holds `count` instances: it hears of them a moment
 * after it opens, and no event says so. (A call before that finds no instance and fails at once.)
 */
async function discovered(lb: RunningBalancer, service: string, count: number): Promise<void> {
  await vi.waitFor(() => expect(lb.balancer.snapshot()[service]).toHaveLength(count));
}

describe('aiges lb with TLS loaders', () => {
  it('serves once calls and sessions end to end: TLS front, mutual TLS to the loaders', async () => {
    const mutual = { cert_file: loaderCert.certFile, key_file: loaderCert.keyFile, client_ca_file: ca.caFile };
    const loaders = await Promise.all([registered('secure', mutual), registered('secure', mutual)]);
    const lb = await startBalancerWith(
      polaris.discovery,
      ['secure'],
      { tls: files(frontCert), upstreamTls: files({ ...balancerCert, caFile: ca.caFile }) },
      clientTls(),
    );
    try {
      await discovered(lb, 'secure', 2);
      for (let i = 0; i < 20; i++) await echoCall(lb.client, '');
      const run = await runSession(lb.client, { service: '' }, [[textItem('a')], [textItem('b')]], { timeoutMs: 5_000 });
      expect(run.responses.length).toBeGreaterThan(0);
      const served = await Promise.all(loaders.map((l) => onceCalls(l)));
      expect(served.reduce((a, b) => a + b, 0)).toBe(20);
      expect(lb.balancer.snapshot()['secure']?.map((e) => e.live)).toEqual([true, true]);
    } finally {
      await lb.close();
      await Promise.all(loaders.map((l) => l.stop()));
    }
  });

  it('still dials plaintext registrations (records without tls) in plaintext', async () => {
    const [plain, secure] = await Promise.all([
      registered('plain'),
      registered('tls-only', { cert_file: loaderCert.certFile, key_file: loaderCert.keyFile }),
    ]);
    const lb = await startBalancerWith(polaris.discovery, ['plain', 'tls-only'], { upstreamTls: files({ caFile: ca.caFile }) });
    try {
      await Promise.all([discovered(lb, 'plain', 1), discovered(lb, 'tls-only', 1)]);
      expect((await polaris.discovery.list('plain'))[0]).not.toHaveProperty('tls');
      expect((await polaris.discovery.list('tls-only'))[0]).toMatchObject({ tls: true });
      // Routed by aiges-service: one balancer fronts both services.
      const call = (service: string) => {
        const metadata = new grpc.Metadata();
        metadata.set('aiges-service', service);
        return new Promise((resolve, reject) =>
          lb.client.Infer({ service: 'echo', items: [textItem(service)] }, metadata, { deadline: Date.now() + 5_000 }, (err, res) =>
            err ? reject(err) : resolve(res),
          ),
        );
      };
      await call('plain');
      await call('tls-only');
      expect(await onceCalls(plain)).toBe(1);
      expect(await onceCalls(secure)).toBe(1);
    } finally {
      await lb.close();
      await Promise.all([plain.stop(), secure.stop()]);
    }
  });

  it('is refused by loaders that require a client certificate when it has none', async () => {
    const loader = await registered('strict', { cert_file: loaderCert.certFile, key_file: loaderCert.keyFile, client_ca_file: ca.caFile });
    const lb = await startBalancerWith(polaris.discovery, ['strict'], { upstreamTls: files({ caFile: ca.caFile }) });
    try {
      await discovered(lb, 'strict', 1);
      await expectGrpcError(echoCall(lb.client, ''), grpc.status.UNAVAILABLE, 10101);
      expect(lb.balancer.snapshot()['strict']?.map((e) => e.live)).toEqual([false]);
      expect(await onceCalls(loader)).toBe(0);
    } finally {
      await lb.close();
      await loader.stop();
    }
  });
});

describe('the TLS front', () => {
  it('requires a client certificate of its client CA, and refuses plaintext', async () => {
    const loader = await registered('front');
    const lb = await startBalancerWith(
      polaris.discovery,
      ['front'],
      { tls: files({ ...frontCert, caFile: ca.caFile }) },
      clientTls(clientCert),
    );
    const noCert = createLoaderClient(`grpcs://${lb.address}`, {}, clientTls());
    const wrongCa = createLoaderClient(`grpcs://${lb.address}`, {}, { ...clientTls(stranger), ca: pem(ca.caFile) });
    const plain = createLoaderClient(lb.address);
    try {
      await discovered(lb, 'front', 1);
      await echoCall(lb.client, '');
      await expectGrpcError(echoCall(noCert, ''), grpc.status.UNAVAILABLE, undefined);
      await expectGrpcError(echoCall(wrongCa, ''), grpc.status.UNAVAILABLE, undefined);
      await expectGrpcError(echoCall(plain, ''), grpc.status.UNAVAILABLE, undefined);
      await echoCall(lb.client, '');
    } finally {
      for (const c of [noCert, wrongCa, plain]) c.close();
      await lb.close();
      await loader.stop();
    }
  });

  it('serves a replaced certificate to new connections after a reload', async () => {
    const own = { certFile: join(dir, 'front-own.pem'), keyFile: join(dir, 'front-own.key') };
    copyFileSync(frontCert.certFile, own.certFile);
    copyFileSync(frontCert.keyFile, own.keyFile);
    const front = files(own);
    const loader = await registered('rotating');
    const lb = await startBalancerWith(polaris.discovery, ['rotating'], { tls: front }, clientTls());
    try {
      await discovered(lb, 'rotating', 1);
      const port = lb.balancer.port;
      expect(await servedCn(port, ca.caFile)).toBe('front');
      copyFileSync(clientCert.certFile, own.certFile);
      copyFileSync(clientCert.keyFile, own.keyFile);
      expect(front.reload()).toBe(true);
      expect(await servedCn(port, ca.caFile)).toBe('client');
      await echoCall(lb.client, '');
    } finally {
      await lb.close();
      await loader.stop();
    }
  });
});

describe('aiges serve, aiges lb and aiges call with their TLS flags', () => {
  it('carry a call over TLS on both hops', async () => {
    const tlsFlags = ['--tls-cert-file', loaderCert.certFile, '--tls-key-file', loaderCert.keyFile, '--tls-client-ca-file', ca.caFile];
    const serve = await startServe(['demo/echo', '--set', `polaris.endpoints=${etcd.endpoint}`, ...tlsFlags]);
    await serve.waitForLog('registered in polaris');
    const lb = runCli([
      'lb',
      '--etcd',
      etcd.endpoint,
      '--listen',
      '127.0.0.1:0',
      '--service',
      'echo',
      '--tls-cert-file',
      frontCert.certFile,
      '--tls-key-file',
      frontCert.keyFile,
      '--upstream-ca-file',
      ca.caFile,
      '--upstream-cert-file',
      balancerCert.certFile,
      '--upstream-key-file',
      balancerCert.keyFile,
    ]);
    try {
      const port = Number((await lb.waitForLog('balancer listening'))['port']);
      await lb.waitForLog('instance admitted');
      const out = await runToExit(['call', `grpcs://127.0.0.1:${port}`, 'echo', '--ca-file', ca.caFile, '--text', 'text=both hops']);
      expect(out.stderr).not.toContain('aiges call:');
      expect(out.code).toBe(0);
      expect(JSON.parse(out.stdout).items[0].text).toBe('both hops');
    } finally {
      lb.proc.kill('SIGTERM');
      serve.proc.kill('SIGTERM');
      await Promise.all([lb.exited, serve.exited]);
    }
  }, 60_000);

  it('stop at startup with exit 2 on a TLS file that cannot serve, naming it', async () => {
    const missing = join(dir, 'missing.pem');
    const lb = await runToExit(['lb', '--etcd', etcd.endpoint, '--tls-cert-file', missing, '--tls-key-file', frontCert.keyFile]);
    expect(lb.code).toBe(2);
    expect(lb.stderr).toContain(`aiges lb: cannot read the certificate file ${missing}`);
    const serve = await runToExit(['serve', 'demo/echo', '--tls-cert-file', frontCert.certFile, '--tls-key-file', loaderCert.keyFile]);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/aiges serve: .*key values mismatch/);
  });
});
