/**
 * Shared helpers of the balancer tests: an in-process Balancer on port 0 with a client of it,
 * a bounded closed-loop load, and per-loader counts read from the loader's own metrics.
 */
import { type ClientTls, createLoaderClient, infer, type LoaderClient } from '../../../loader/tools/client.js';
import { createLogger } from '../../../loader/log.js';
import type { Loader } from '../../../loader/loader.js';
import { Balancer, type BalancerOptions } from '../../../polaris/balancer/balancer.js';
import type { Discovery } from '../../../polaris/store/types.js';
import { afterEach, expect, vi } from 'vitest';
import { startLoader } from '../../server/http-helpers.js';
import { textItem } from '../../server/grpc-helpers.js';
import { FakeDiscovery, record } from '../fake-discovery.js';

export interface RunningBalancer {
  balancer: Balancer;
  address: string;
  client: LoaderClient;
  close(): Promise<void>;
}

export async function startBalancer(discovery: Discovery, services: string[] = []): Promise<RunningBalancer> {
  return startBalancerWith(discovery, services, {});
}

/** A balancer with `options`; with `clientTls` its client dials it over TLS (grpcs://). */
export async function startBalancerWith(
  discovery: Discovery,
  services: string[],
  options: Partial<Omit<BalancerOptions, 'discovery' | 'services'>>,
  clientTls?: ClientTls,
): Promise<RunningBalancer> {
  const balancer = new Balancer({ discovery, services, log: createLogger('silent'), drainGraceMs: 2_000, ...options });
  const port = await balancer.start('127.0.0.1', 0);
  const address = `127.0.0.1:${port}`;
  const client = createLoaderClient(clientTls === undefined ? address : `grpcs://${address}`, {}, clientTls);
  return {
    balancer,
    address,
    client,
    async close() {
      client.close();
      await balancer.stop();
    },
  };
}

/** Calls finished by `loader` (once mode), optionally only those that ended with `code`. */
export async function onceCalls(loader: Loader, code?: number): Promise<number> {
  const { values } = await loader.metrics.requests.get();
  return values
    .filter((v) => v.labels['mode'] === 'once' && (code === undefined || String(v.labels['code']) === String(code)))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Sessions open on `loader` now, from its own `aiges_open_sessions` gauge. */
export async function openSessions(loader: Loader): Promise<number> {
  const { values } = await loader.metrics.sessions.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

export interface LoadOutcome {
  ok: number;
  failed: unknown[];
}

/**
 * `total` calls, `concurrency` at a time, each `call(i)`; `onProgress(done)` after each one.
 * Collects failures instead of stopping.
 */
export async function boundedLoad(
  total: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
  onProgress?: (done: number) => void,
): Promise<LoadOutcome> {
  let next = 0;
  let done = 0;
  const outcome: LoadOutcome = { ok: 0, failed: [] };
  const worker = async () => {
    while (next < total) {
      const i = next++;
      try {
        await call(i);
        outcome.ok++;
      } catch (err) {
        outcome.failed.push(err);
      }
      onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcome;
}

/** An echo-style once call of `service` through `client`, with `params`. */
export function echoCall(client: LoaderClient, service: string, params: Record<string, string> = {}) {
  return infer(client, { service, params, items: [textItem('x')] }, 10_000);
}

/**
 * Two loaders of service `gated` behind a new balancer whose view of them is stale, as it is for a
 * moment when another balancer just filled an instance: `full` (capacity 1, its slot taken by
 * `hold()`, a call made directly to it) reports itself idle, `free` (capacity 4) busier than it is.
 * The picker then prefers `full`, which refuses with 10110. Resolves with the balancer and the held
 * call; the mocks are undone by `cleanups`.
 */
export async function staleView(
  full: Loader,
  free: Loader,
  hold: () => Promise<unknown>,
  start: (discovery: FakeDiscovery) => Promise<RunningBalancer>,
  cleanups: (() => unknown)[],
): Promise<{ lb: RunningBalancer; held: Promise<unknown> }> {
  vi.spyOn(full.dataplane.admission, 'onceCalls', 'get').mockReturnValue(0);
  vi.spyOn(free.dataplane.admission, 'onceCalls', 'get').mockReturnValue(3);
  cleanups.push(() => {
    vi.restoreAllMocks();
  });
  const held = hold();
  await vi.waitFor(() => expect(full.dataplane.admission.inUse).toBe(1));
  const discovery = new FakeDiscovery();
  discovery.set('gated', [record('gated', full.grpcPort, 1), record('gated', free.grpcPort, 4)]);
  const lb = await start(discovery);
  await vi.waitFor(() => expect(lb.balancer.snapshot()['gated']?.filter((e) => e.live).length).toBe(2));
  await vi.waitFor(() =>
    expect(
      lb.balancer
        .snapshot()
        ['gated']?.map((e) => e.inflight)
        .sort(),
    ).toEqual([0, 3]),
  );
  return { lb, held };
}

/**
 * A test file's loaders and balancers, each stopped after its test (in reverse order, with anything
 * else pushed on `cleanups`), and a wait for a service's live instances.
 */
export function balancerFixtures() {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    cleanups,
    async loader(overrides: Record<string, Record<string, unknown>> = {}): Promise<Loader> {
      const l = await startLoader(overrides);
      cleanups.push(() => l.stop());
      return l;
    },
    async balancer(
      discovery: Discovery,
      services: string[],
      options: Partial<Omit<BalancerOptions, 'discovery' | 'services'>> = {},
    ): Promise<RunningBalancer> {
      const b = await startBalancerWith(discovery, services, options);
      cleanups.push(() => b.close());
      return b;
    },
    /** Waits until the balancer sees `n` live instances of `service`. */
    async live(b: RunningBalancer, service: string, n: number): Promise<void> {
      await vi.waitFor(() => expect(b.balancer.snapshot()[service]?.filter((e) => e.live).length).toBe(n));
    },
  };
}
