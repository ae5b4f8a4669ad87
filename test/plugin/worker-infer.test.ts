/**
 * ctx.infer from an exec on worker threads (`isolation = "worker"`): relayed to the loader's call
 * of that exec, nested under it in the loader's data plane. A real loader on port 0 serving the
 * pipe-caller fixture on threads, tensor-scale beside it in the loader's thread.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execConcurrency } from '../../loader/config/schema.js';
import type { Loader } from '../../loader/loader.js';
import { createLoaderClient, infer, type LoaderClient } from '../../loader/tools/client.js';
import { Codes } from '../../plugins/errors.js';
import type { Wrapper } from '../../plugins/types.js';
import tensorScale from '../fixtures/plugins/tensor-scale.js';
import { expectFree, expectGrpcError, FIXTURES, textItem } from '../server/grpc-helpers.js';
import { startLoader } from '../server/http-helpers.js';

let loader: Loader;
let client: LoaderClient;
beforeAll(async () => {
  loader = await startLoader({ plugin: { path: `${FIXTURES}/pipe-caller.ts`, isolation: 'worker', concurrency: 2 } });
  await loader.registry.loadWrapper(tensorScale as Wrapper, {
    config: {},
    concurrency: execConcurrency(loader.config),
    initTimeoutMs: 5_000,
  });
  client = createLoaderClient(`127.0.0.1:${loader.grpcPort}`);
}, 30_000);
afterAll(async () => {
  client?.close();
  await loader?.stop();
});

describe('ctx.infer on worker threads', () => {
  it('an exec on a thread sends an FP32 tensor to a service of the loader and reads its output', async () => {
    const x = { key: 'x', type: 4 as const, status: 3 as const, encoding: '', datatype: 'FP32', shape: [3] };
    const res = await infer(client, {
      service: 'pipe-caller',
      params: { tensor: 'true' },
      items: [{ ...x, data: Buffer.from(new Float32Array([1, 2, 3]).buffer) }],
    });
    expect([...new Float32Array(new Uint8Array(res.items[0]!.data).buffer)]).toEqual([10, 20, 30]);
    await expectFree(loader);
  });

  it('the callee’s code crosses the thread and a rethrow keeps it (10200)', async () => {
    await expectGrpcError(
      infer(client, { service: 'pipe-caller', params: { service: 'nowhere' }, items: [textItem('x')] }),
      grpc.status.NOT_FOUND,
      Codes.SERVICE_NOT_FOUND,
    );
  });
});
