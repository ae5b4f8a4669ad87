/**
 * Integration tier: a real etcd, loaders that register themselves in it, `aiges lb` as a child
 * process, and the `polaris:///` resolver. kill -9 of one of three `aiges serve` processes under
 * load loses no once call; the resolver reaches instances and follows membership changes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLoaderClient, infer } from '../../../loader/tools/client.js';
import { fetchLoad } from '../../../polaris/client/load-fetch.js';
import { EtcdPolaris } from '../../../polaris/store/polaris-etcd.js';
import { createPolarisClient } from '../../../polaris/client/resolver.js';
import { runCli, startServe } from '../../cli/serve-process.js';
import { textItem } from '../../server/grpc-helpers.js';
import { startLoader } from '../../server/http-helpers.js';
import { boundedLoad, onceCalls } from './helpers.js';
import { TestEtcd } from '../etcd.js';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await TestEtcd.start();
}, 30_000);
afterAll(async () => {
  await etcd?.stop();
});

describe('aiges lb over etcd', () => {
  it('loses no once call when one of three aiges serve processes is killed -9 under load', async () => {
    // Registered under the plugin's own service id, "slow", which the request names.
    const polarisFlags = ['--set', `polaris.endpoints=${etcd.endpoint}`];
    const serves = await Promise.all(
      [0, 1, 2].map(async () => {
        const s = await startServe(['test/fixtures/plugins/slow.ts', '--capacity', '16', ...polarisFlags]);
        await s.waitForLog('registered in polaris');
        return s;
      }),
    );
    const lb = runCli(['lb', '--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--service', 'slow']);
    try {
      const port = Number((await lb.waitForLog('balancer listening'))['port']);
      await vi.waitFor(() => expect(lb.logs.filter((l) => l['msg'] === 'instance admitted')).toHaveLength(3));
      const client = createLoaderClient(`127.0.0.1:${port}`);
      const victim = serves[0]!;
      let victimLoad: number | undefined;
      let killed: Promise<void> | undefined;
      const outcome = await boundedLoad(
        300,
        8,
        () => infer(client, { service: 'slow', params: { ms: '15' }, items: [textItem('x')] }, 10_000),
        (done) => {
          if (done !== 100) return;
          killed = fetchLoad(`127.0.0.1:${victim.grpcPort}`).then((load) => {
            victimLoad = load?.inflight;
            victim.proc.kill('SIGKILL');
          });
        },
      );
      await killed;
      client.close();
      console.log(`kill -9 under load: ${outcome.ok} ok, ${outcome.failed.length} failed; victim had ${victimLoad} calls in flight`);
      expect(outcome.failed).toEqual([]);
      expect(outcome.ok).toBe(300);
      expect((await victim.exited).signal).toBe('SIGKILL');
    } finally {
      lb.proc.kill('SIGTERM');
      for (const s of serves) s.proc.kill('SIGTERM');
      await Promise.all([lb.exited, ...serves.map((s) => s.exited)]);
    }
    expect((await lb.exited).code).toBe(0);
  }, 45_000);
});

describe('polaris:/// resolver', () => {
  it('reaches the registered instances and follows them as they come and go', async () => {
    const polaris = { endpoints: [etcd.endpoint], service: 'resolved' };
    const a = await startLoader({ polaris });
    const discovery = new EtcdPolaris({ endpoints: [etcd.endpoint] });
    const client = createPolarisClient('resolved', discovery.discovery);
    let b: Awaited<ReturnType<typeof startLoader>> | undefined;
    try {
      const call = () => infer(client, { service: 'echo', items: [textItem('via polaris')] }, 5_000);
      expect((await call()).items[0]?.data.toString()).toBe('via polaris');
      expect(await onceCalls(a, 0)).toBe(1);

      // A second instance registers: round robin reaches it.
      b = await startLoader({ polaris });
      await vi.waitFor(async () => {
        await call();
        expect(await onceCalls(b!, 0)).toBeGreaterThan(0);
      });

      // The first stops (deregisters first): every call after that lands on the second.
      await a.stop();
      const before = await onceCalls(b, 0);
      for (let i = 0; i < 10; i++) await call();
      expect((await onceCalls(b, 0)) - before).toBe(10);
    } finally {
      client.close();
      await a.stop();
      await b?.stop();
      await discovery.close();
    }
  });
});
