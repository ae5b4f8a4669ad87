/**
 * ctx.infer to another loader (loader/pipes/remote-grpc.ts): real loaders on port 0, one serving a
 * pipeline step (fixture pipe-caller) that calls a service of the other over aiges.v1 gRPC, by
 * address or through polaris (in-memory store shared by both).
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { createLoaderClient, infer, type LoaderClient } from '../../loader/tools/client.js';
import { MemoryPolaris } from '../../polaris/store/polaris-memory.js';
import { MemoryStore } from '../../polaris/store/store-memory.js';
import { Codes } from '../../plugins/index.js';
import { freePort } from '../polaris/etcd.js';
import { floats, x } from './helpers.js';
import { expectFree, expectGrpcError, FIXTURES, type Served, serve, textItem } from '../server/grpc-helpers.js';

const CALLER = `${FIXTURES}/pipe-caller.ts`;
const SCALE = `${FIXTURES}/tensor-scale.ts`;

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function pair(callee: string, protocol = 'aiges'): Promise<{ a: Served; b: Served }> {
  // A short drain grace: a hung exec would hold a loader's stop for the default one.
  const b = await serve({ plugin: { path: callee }, limits: { drain_grace_ms: 100 } });
  running.push(b);
  const a = await serve({ plugin: { path: CALLER }, wrapper: { address: b.address, protocol } });
  running.push(a);
  return { a, b };
}

async function requests(loader: Loader, service: string, code: number): Promise<number> {
  const metric = await loader.metrics.requests.get();
  return metric.values.find((v) => v.labels['service'] === service && String(v.labels['code']) === String(code))?.value ?? 0;
}

describe('ctx.infer to another loader by address', () => {
  it('items go on whole (tensor included) and the answer comes back whole', async () => {
    const { a, b } = await pair(SCALE);
    const res = await infer(a.client, { service: 'pipe-caller', items: [x([1, 2, 3])] });
    expect(res.items[0]).toMatchObject({ key: 'y', datatype: 'FP32', shape: [3] });
    expect(floats(res.items[0])).toEqual([10, 20, 30]);
    expect(await requests(b.loader, 'tensor-scale', 0)).toBe(1);
  });

  it('a TensorInput gets the remote schema’s item type (its Metadata), and the output reads as a Float32Array', async () => {
    const { a } = await pair(SCALE);
    const res = await infer(a.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([0.5, -1])] });
    expect(floats(res.items[0])).toEqual([5, -10]);
    // Once more: the types are cached with the channel.
    const again = await infer(a.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([2])] });
    expect(floats(again.items[0])).toEqual([20]);
  });

  it('the remote loader’s code reaches the caller (10200 from its aiges-code trailer) and passes through a rethrow', async () => {
    const { a } = await pair(SCALE);
    const details = await expectGrpcError(
      infer(a.client, { service: 'pipe-caller', params: { service: 'nowhere' }, items: [textItem('x')] }),
      grpc.status.NOT_FOUND,
      Codes.SERVICE_NOT_FOUND,
    );
    expect(details).toMatch(/service "nowhere": unknown service "nowhere"/);
  });

  it('the caller’s deadline is the gRPC deadline: a hung remote exec ends with 10102 on both loaders', async () => {
    const { a, b } = await pair(`${FIXTURES}/hangs.ts`);
    const call = infer(a.client, { service: 'pipe-caller', params: { service: 'hangs' }, items: [textItem('x')] }, 300);
    // The client's own deadline answers it (no aiges-code); both loaders count the call at theirs.
    await expect(call).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await expect.poll(() => requests(a.loader, 'pipe-caller', Codes.EXEC_TIMEOUT)).toBe(1);
    await expect.poll(() => requests(b.loader, 'hangs', Codes.EXEC_TIMEOUT)).toBe(1);
    await expectFree(a.loader);
    await expectFree(b.loader);
  });

  it('a loop across loaders ends at depth 8 (10211): the depth travels with the call', async () => {
    const port = await freePort();
    const self = await serve({
      server: { grpc_port: port },
      plugin: { path: CALLER },
      wrapper: { address: `127.0.0.1:${port}` },
    });
    running.push(self);
    const details = await expectGrpcError(
      infer(self.client, { service: 'pipe-caller', params: { service: 'pipe-caller' }, items: [textItem('x')] }, 60_000),
      grpc.status.FAILED_PRECONDITION,
      Codes.PIPELINE_DEPTH,
    );
    expect(details).toMatch(/nests deeper than 8 calls/);
    // The client's call and 8 calls over gRPC ran; the 10th was refused.
    expect(await requests(self.loader, 'pipe-caller', Codes.PIPELINE_DEPTH)).toBe(10);
    await expectFree(self.loader);
  });

  it('an address no loader listens on is 10101 (retryable), a malformed one 10003', async () => {
    const a = await serve({ plugin: { path: CALLER }, wrapper: { address: '127.0.0.1:1' } });
    running.push(a);
    await expectGrpcError(infer(a.client, { service: 'pipe-caller', items: [textItem('x')] }, 5_000), grpc.status.UNAVAILABLE, 10101);
    const bad = await serve({ plugin: { path: CALLER }, wrapper: { address: 'no port' } });
    running.push(bad);
    await expectGrpcError(
      infer(bad.client, { service: 'pipe-caller', items: [textItem('x')] }),
      grpc.status.FAILED_PRECONDITION,
      Codes.INVALID_OP,
    );
  });
});

describe('ctx.infer to a V2 gRPC server (protocol v2)', () => {
  it('a tensor goes as raw contents and the FP32 output comes back as a tensor', async () => {
    const { a, b } = await pair(SCALE, 'v2');
    const res = await infer(a.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([1, -2])] });
    expect(res.items[0]).toMatchObject({ key: 'y', datatype: 'FP32', shape: [2] });
    expect(floats(res.items[0])).toEqual([10, -20]);
    expect(await requests(b.loader, 'tensor-scale', 0)).toBe(1);
  });

  it('a plain item goes as a BYTES tensor of one element and comes back plain, its encoding and attributes kept', async () => {
    const { a } = await pair('demo/echo', 'v2');
    const item = { ...textItem('hello'), attributes: { lang: 'en' } };
    const res = await infer(a.client, { service: 'pipe-caller', params: { service: 'echo' }, items: [item] });
    expect(res.items[0]).toMatchObject({ key: 'text', encoding: 'utf8', attributes: { lang: 'en' }, datatype: '' });
    expect(Buffer.from(res.items[0]!.data).toString()).toBe('hello');
  });

  it('the V2 server’s error comes back with its code (an unknown model: 10200)', async () => {
    const { a } = await pair(SCALE, 'v2');
    await expectGrpcError(
      infer(a.client, { service: 'pipe-caller', params: { service: 'nowhere' }, items: [textItem('x')] }),
      grpc.status.NOT_FOUND,
      Codes.SERVICE_NOT_FOUND,
    );
  });
});

describe('ctx.infer via polaris', () => {
  async function start(path: string, wrapper: Record<string, unknown>, polaris: MemoryPolaris): Promise<Loader> {
    const config = loadConfig({
      overrides: {
        server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
        plugin: { path },
        wrapper,
        log: { level: 'silent' },
      },
    });
    const loader = new Loader(config, { defaultMetrics: false, polaris });
    running.push({ close: () => loader.stop() });
    await loader.start();
    return loader;
  }

  it('finds a live instance of the service and calls it', async () => {
    const store = new MemoryStore();
    const b = await start(SCALE, {}, new MemoryPolaris(store));
    await start(CALLER, { via: 'polaris' }, new MemoryPolaris(store));
    const a = await callerClient(store);
    const res = await infer(a, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([4])] });
    expect(floats(res.items[0])).toEqual([40]);
    expect(await requests(b, 'tensor-scale', 0)).toBe(1);
  });

  it('a service polaris lists no instance of is refused at once with 10101 (retryable)', async () => {
    const store = new MemoryStore();
    await start(CALLER, { via: 'polaris' }, new MemoryPolaris(store));
    const a = await callerClient(store);
    const details = await expectGrpcError(
      infer(a, { service: 'pipe-caller', params: { service: 'absent' }, items: [textItem('x')] }, 60_000),
      grpc.status.UNAVAILABLE,
      Codes.INSTANCE_INACTIVE,
    );
    expect(details).toMatch(/polaris lists no live instance of service "absent"/);
  });
});

/** A client of the pipe-caller instance registered in `store`. */
async function callerClient(store: MemoryStore): Promise<LoaderClient> {
  const [record] = await new MemoryPolaris(store).discovery.list('pipe-caller');
  const client = createLoaderClient(record!.address);
  running.push({ close: async () => client.close() });
  return client;
}
