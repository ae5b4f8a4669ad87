/**
 * Integration tier: ctx.infer via polaris over a real etcd. Two loaders register in it; the
 * pipeline step of one (fixture pipe-caller, `[wrapper] via = "polaris"`) finds the other's
 * service there and calls it over aiges.v1 gRPC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { createLoaderClient, infer } from '../../loader/tools/client.js';
import { TestEtcd } from '../polaris/etcd.js';
import { FIXTURES } from '../server/grpc-helpers.js';
import { startLoader } from '../server/http-helpers.js';

let etcd: TestEtcd;
const loaders: Loader[] = [];
beforeAll(async () => {
  etcd = await TestEtcd.start();
}, 30_000);
afterAll(async () => {
  await Promise.all(loaders.map((l) => l.stop()));
  await etcd?.stop();
});

describe('ctx.infer via polaris (etcd)', () => {
  it('reaches the service another loader registered, and follows it when it goes', async () => {
    const polaris = { endpoints: [etcd.endpoint] };
    const b = await startLoader({ plugin: { path: `${FIXTURES}/tensor-scale.ts` }, polaris });
    loaders.push(b);
    const a = await startLoader({ plugin: { path: `${FIXTURES}/pipe-caller.ts` }, wrapper: { via: 'polaris' }, polaris });
    loaders.push(a);
    const client = createLoaderClient(`127.0.0.1:${a.grpcPort}`);
    try {
      const x = { key: 'x', type: 4 as const, status: 3 as const, encoding: '', datatype: 'FP32', shape: [2] };
      const res = await infer(
        client,
        { service: 'pipe-caller', params: { tensor: 'true' }, items: [{ ...x, data: Buffer.from(new Float32Array([1, 2]).buffer) }] },
        10_000,
      );
      expect([...new Float32Array(new Uint8Array(res.items[0]!.data).buffer)]).toEqual([10, 20]);
      // B deregisters as it stops: once A's watch has heard it, A's calls are refused at once
      // (10101), not left to their deadline.
      await b.stop();
      const refusal = () =>
        infer(client, { service: 'pipe-caller', items: [{ ...x, data: Buffer.alloc(8) }] }, 60_000).then(
          () => 'answered',
          (err: { details: string }) => err.details,
        );
      await expect.poll(refusal).toMatch(/polaris lists no live instance of service "tensor-scale"/);
    } finally {
      client.close();
    }
  }, 30_000);
});
