/**
 * The balancer's raw HTTP/2 forwarding at the wire: compressed messages, the one-message rule of
 * unary calls, its own size limit, methods it does not know, and a stop with a call in flight.
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLoaderClient, infer } from '../../../loader/tools/client.js';
import { createLogger } from '../../../loader/log.js';
import { Balancer } from '../../../polaris/balancer/balancer.js';
import { expectGrpcError, gate, openSession, rawUnary, textItem, useGates } from '../../server/grpc-helpers.js';
import { startLoader } from '../../server/http-helpers.js';
import { FakeDiscovery, record } from '../fake-discovery.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A loader (echo unless `plugin` says otherwise) behind a balancer; resolves with the balancer's address. */
async function setup(options: { maxMessageBytes?: number; plugin?: Record<string, unknown>; wrapper?: Record<string, unknown> } = {}) {
  const loader = await startLoader({
    ...(options.plugin ? { plugin: options.plugin } : {}),
    ...(options.wrapper ? { wrapper: options.wrapper } : {}),
  });
  cleanups.push(() => loader.stop());
  const discovery = new FakeDiscovery();
  const service = String(options.plugin?.['service'] ?? (options.plugin ? 'gated' : 'echo'));
  discovery.add(record(service, loader.grpcPort, 64));
  const balancer = new Balancer({
    discovery,
    services: [service],
    log: createLogger('silent'),
    drainGraceMs: 5_000,
    maxMessageBytes: options.maxMessageBytes,
  });
  const port = await balancer.start('127.0.0.1', 0);
  cleanups.push(() => balancer.stop());
  await vi.waitFor(() => expect(balancer.snapshot()[service]?.[0]?.live).toBe(true));
  return { balancer, loader, address: `127.0.0.1:${port}` };
}

function client(address: string, options: grpc.ClientOptions = {}) {
  const c = createLoaderClient(address, options);
  cleanups.push(() => c.close());
  return c;
}

/** A unary call written by hand: `body` as the request's DATA, the grpc-status and aiges-code back. */
function rawH2Call(address: string, path: string, body: Buffer): Promise<{ status?: string; code?: string }> {
  const session = http2.connect(`http://${address}`);
  return new Promise<{ status?: string; code?: string }>((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let result: { status?: string; code?: string } = {};
    const read = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) result = { status: String(h['grpc-status']), code: h['aiges-code'] as string | undefined };
    };
    req.on('response', read);
    req.on('trailers', read);
    req.on('error', reject);
    req.on('close', () => resolve(result));
    req.resume();
    req.end(body);
  }).finally(() => session.close());
}

function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

describe('balancer wire', () => {
  it('routes gzip-compressed calls and sessions, and passes the compressed answer back', async () => {
    const { address } = await setup();
    const gz = client(address, { 'grpc.default_compression_algorithm': 2 });
    const payload = Buffer.alloc(64 * 1024, 'a');
    const res = await infer(gz, { service: 'echo', items: [{ key: 'data', type: 4, status: 3, data: payload }] });
    expect(res.items[0]?.data.equals(payload)).toBe(true);
    const session = openSession(gz);
    session.write({ service: 'echo', items: [{ ...textItem('x'), status: 0 }] });
    session.write({ items: [{ ...textItem('y'), status: 2 }] });
    session.call.end();
    const results = await session.done;
    expect(results.flatMap((r) => r.items.map((i) => i.data.toString()))).toEqual(['x', 'y']);
  });

  it('refuses a unary call with two messages (10009) and one over its limit (10201), and an empty one (10009)', async () => {
    const { address } = await setup({ maxMessageBytes: 1024 });
    const request = Buffer.from([0x0a, 0x04, ...Buffer.from('echo')]); // InferRequest { service: "echo" }
    expect(await rawH2Call(address, '/aiges.v1.Loader/Infer', Buffer.concat([frame(request), frame(request)]))).toEqual({
      status: '3',
      code: '10009',
    });
    expect(await rawH2Call(address, '/aiges.v1.Loader/Infer', Buffer.alloc(0))).toEqual({ status: '3', code: '10009' });
    const c = client(address);
    await expectGrpcError(infer(c, { service: 'echo', items: [textItem('x'.repeat(2048))] }), grpc.status.RESOURCE_EXHAUSTED, 10201);
    // Under the limit, the same balancer forwards.
    expect((await infer(c, { service: 'echo', items: [textItem('fits')] })).items[0]?.data.toString()).toBe('fits');
  });

  it('answers UNIMPLEMENTED for a method it does not forward', async () => {
    const { address } = await setup();
    await expectGrpcError(rawUnary(address, '/aiges.v1.Loader/Nope', Buffer.alloc(0)), grpc.status.UNIMPLEMENTED, undefined);
  });

  it('at stop, lets a call in flight finish and refuses new ones', async () => {
    const exec = gate();
    const { balancer, loader, address } = await setup({
      plugin: { path: 'test/fixtures/plugins/http-gated.ts' },
      wrapper: useGates({ exec }),
    });
    const c = client(address);
    const inFlight = infer(c, { service: 'gated', items: [textItem('held')] });
    await vi.waitFor(() => expect(loader.dataplane.admission.inUse).toBe(1));
    const stopped = balancer.stop();
    exec.open();
    expect((await inFlight).items[0]?.data.toString()).toBe('held');
    await stopped;
    await expect(infer(c, { service: 'gated', items: [textItem('late')] }, 2_000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });
});
