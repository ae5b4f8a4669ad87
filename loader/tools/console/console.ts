/**
 * The console assembled: the live fleet, the call figures and the HTTP server over one Polaris,
 * reading the loaders as `aiges services ls` does (load over gRPC through `open`; readiness and
 * /metrics over HTTP, https for instances that registered TLS). `aiges console` runs one; the API
 * tests build one on a real etcd.
 */
import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import type { LoaderClient } from '../../../proto/gen/aiges/v1/Loader.js';
import type { InstanceRecord, Polaris } from '../../../polaris/store/types.js';
import { type ConsoleAssets, loadConsoleAssets } from './assets.js';
import type { ConsoleAuth } from './auth.js';
import { Fleet } from './fleet.js';
import { buildConsoleServer } from './server.js';
import { ServiceMetrics } from './service-metrics.js';

export interface ConsoleOptions {
  polaris: Polaris;
  auth: ConsoleAuth;
  /** A client of an instance's gRPC server (TLS, signing). */
  open: (record: InstanceRecord) => LoaderClient;
  /** CA bundle (PEM) for instances that registered TLS (default: Node's roots). */
  ca?: Buffer;
  scrapeIntervalMs?: number;
  pushTimeoutMs?: number;
  secureCookie?: boolean;
  assets?: ConsoleAssets;
}

export interface Console {
  app: FastifyInstance;
  fleet: Fleet;
  metrics: ServiceMetrics;
  /** Follows the fleet and starts scraping (the server is listened on by the caller, or injected into). */
  start(): Promise<void>;
  close(): Promise<void>;
}

const HTTP_TIMEOUT_MS = 1_500;

export async function createConsole(options: ConsoleOptions): Promise<Console> {
  const tls = options.ca === undefined ? undefined : new Agent({ connect: { ca: options.ca } });
  const get = async (record: InstanceRecord, path: string) => {
    const url = `${record.tls === true ? 'https' : 'http'}://${record.httpAddress}${path}`;
    const res = await request(url, {
      ...(tls === undefined ? {} : { dispatcher: tls }),
      headersTimeout: HTTP_TIMEOUT_MS,
      bodyTimeout: HTTP_TIMEOUT_MS,
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const fleet = new Fleet({
    discovery: options.polaris.discovery,
    open: options.open,
    reasons: async (record) => (JSON.parse((await get(record, '/v2/health/ready')).text) as { reasons?: string[] }).reasons ?? [],
  });
  const metrics = new ServiceMetrics({
    instances: () => fleet.view().instances,
    scrape: async (record) => {
      const res = await get(record, '/metrics');
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
      return res.text;
    },
    ...(options.scrapeIntervalMs === undefined ? {} : { intervalMs: options.scrapeIntervalMs }),
  });
  const app = await buildConsoleServer({
    polaris: options.polaris,
    auth: options.auth,
    fleet,
    metrics,
    assets: options.assets ?? loadConsoleAssets(),
    secureCookie: options.secureCookie === true,
    ...(options.pushTimeoutMs === undefined ? {} : { pushTimeoutMs: options.pushTimeoutMs }),
  });
  return {
    app,
    fleet,
    metrics,
    async start() {
      await fleet.start();
      metrics.start();
    },
    async close() {
      fleet.close();
      metrics.close();
      await app.close();
      await tls?.close();
    },
  };
}
