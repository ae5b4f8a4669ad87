/**
 * gRPC adapter, happy paths: Infer and Session round trips on echo, Metadata, and
 * grpc.health.v1 (Check and Watch). Real loaders on port 0, real grpc-js clients.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { infer, metadata, runSession } from '../../loader/tools/client.js';
import type { HealthCheckResponse__Output } from '../../proto/gen/grpc/health/v1/HealthCheckResponse.js';
import type { HealthClient } from '../../proto/gen/grpc/health/v1/Health.js';
import { FIXTURES, expectFree, expectGrpcError, gate, healthClient, serve, textItem, useGates, type Served } from './grpc-helpers.js';
import { startLoader } from './http-helpers.js';

const GATED = `${FIXTURES}/http-gated.ts`;
const SERVING = 1;
const NOT_SERVING = 2;
const SERVICE_UNKNOWN = 3;

let echo: Served;
beforeAll(async () => {
  echo = await serve();
});
afterAll(async () => {
  await echo.close();
});

describe('Infer', () => {
  it('echoes text', async () => {
    const res = await infer(echo.client, { service: 'echo', items: [textItem('hello, 世界')] });
    expect(res.items).toHaveLength(1);
    expect(res.items[0]).toMatchObject({ key: 'text', type: 0, status: 3, encoding: 'utf8' });
    expect(res.items[0]?.data.toString('utf8')).toBe('hello, 世界');
    await expectFree(echo.loader);
  });

  it('carries audio attributes and tensor datatype/shape both ways', async () => {
    const pcm = Buffer.from([0, 1, 2, 3, 250, 255]);
    const floats = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const res = await infer(echo.client, {
      service: 'echo',
      params: { delay_ms: '0' },
      headers: { 'x-trace': 't1' },
      items: [
        { key: 'audio', type: 1, status: 3, encoding: 'raw', attributes: { sample_rate: '16000', channels: '1' }, data: pcm },
        { key: 'data', type: 4, status: 3, encoding: 'raw', data: floats, datatype: 'FP32', shape: [2, 3] },
      ],
    });
    const [audio, data] = res.items;
    expect(audio).toMatchObject({ key: 'audio', type: 1, encoding: 'raw', attributes: { sample_rate: '16000', channels: '1' } });
    expect(audio?.data.equals(pcm)).toBe(true);
    expect(audio?.datatype).toBe('');
    expect(data).toMatchObject({ key: 'data', type: 4, datatype: 'FP32', shape: [2, 3] });
    expect(data?.data.equals(floats)).toBe(true);
    await expectFree(echo.loader);
  });

  it('keeps an empty item and takes the sole service when service is empty', async () => {
    const res = await infer(echo.client, { service: '', items: [textItem('')] });
    expect(res.items[0]).toMatchObject({ key: 'text' });
    expect(res.items[0]?.data.length).toBe(0);
    await expectFree(echo.loader);
  });

  it('round-trips a 4 MiB payload byte for byte', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const res = await infer(echo.client, { service: 'echo', items: [{ key: 'data', type: 4, status: 3, data: big }] });
    expect(res.items[0]?.data.length).toBe(big.length);
    expect(res.items[0]?.data.equals(big)).toBe(true);
    await expectFree(echo.loader);
  });
});

describe('Session', () => {
  it('answers each frame in order with one sid and ends with END', async () => {
    const frames = ['a', 'b', 'c', 'd'].map((t) => [{ ...textItem(t), status: 1 as const }]);
    const { responses } = await runSession(echo.client, { service: 'echo', items: [{ ...textItem('open'), status: 0 as const }] }, frames);
    const texts = responses.flatMap((r) => r.items.map((i) => i.data.toString()));
    expect(texts).toEqual(['open', 'a', 'b', 'c', 'd']);
    expect(responses.at(-1)?.status).toBe(2);
    expect(responses.slice(0, -1).every((r) => r.status === 1)).toBe(true);
    const sid = responses[0]?.sid;
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(responses.every((r) => r.sid === sid)).toBe(true);
    await expectFree(echo.loader);
  });

  it('keeps the client sid, and ends at the first END item', async () => {
    const last = [{ ...textItem('x'), status: 2 as const }];
    const { responses } = await runSession(echo.client, { service: 'echo', params: { sid: 'my-session' } }, [last]);
    expect(responses.map((r) => [r.sid, r.status, r.items[0]?.data.toString()])).toEqual([['my-session', 2, 'x']]);
    await expectFree(echo.loader);
  });
});

describe('Metadata', () => {
  it('describes the service', async () => {
    const m = await metadata(echo.client, 'echo');
    expect(m).toMatchObject({ service: 'echo', version: '1.0.0', supportsOnce: true, supportsSession: true, capacity: 64 });
    expect(m.inputs.map((k) => [k.key, k.type, k.required])).toEqual([
      ['text', 0, false],
      ['audio', 1, false],
      ['data', 4, false],
    ]);
    expect(m.outputs.map((k) => [k.key, k.type])).toEqual([
      ['text', 0],
      ['audio', 1],
      ['data', 4],
    ]);
    const schema = JSON.parse(m.paramsSchemaJson) as { properties: Record<string, unknown> };
    expect(schema.properties['delay_ms']).toMatchObject({ type: 'integer', minimum: 0, maximum: 60_000 });
  });

  it('takes the sole service for an empty name and refuses an unknown one', async () => {
    expect((await metadata(echo.client, '')).service).toBe('echo');
    const details = await expectGrpcError(metadata(echo.client, 'nope'), grpc.status.NOT_FOUND, 10200);
    expect(details).toContain('nope');
  });
});

const check = (client: HealthClient, service: string) =>
  new Promise<HealthCheckResponse__Output>((resolve, reject) =>
    client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res as HealthCheckResponse__Output))),
  );

describe('grpc.health.v1', () => {
  it('is SERVING for "", the service and aiges.v1.Loader; NOT_FOUND for others', async () => {
    const health = healthClient(echo.address);
    try {
      for (const service of ['', 'echo', 'aiges.v1.Loader']) expect((await check(health, service)).status).toBe(SERVING);
      // The standard health protocol: a plain NOT_FOUND, no aiges-code.
      expect(await expectGrpcError(check(health, 'nope'), grpc.status.NOT_FOUND, undefined)).toContain('nope');
    } finally {
      health.close();
    }
  });

  it('Watch of an unknown service sends SERVICE_UNKNOWN', async () => {
    const health = healthClient(echo.address);
    const call = health.Watch({ service: 'nope' });
    call.on('error', () => undefined);
    try {
      const first = await new Promise<HealthCheckResponse__Output>((resolve) => call.once('data', resolve));
      expect(first.status).toBe(SERVICE_UNKNOWN);
    } finally {
      call.cancel();
      health.close();
    }
  });

  it('is NOT_SERVING while the plugin initialises', async () => {
    const init = gate();
    const loader = await startLoader({ plugin: { path: GATED }, wrapper: useGates({ init }) }, { start: false });
    const starting = loader.start();
    try {
      await vi.waitFor(() => expect(init.entered).toHaveLength(1));
      const health = healthClient(`127.0.0.1:${loader.grpcPort}`);
      try {
        expect((await check(health, '')).status).toBe(NOT_SERVING);
        init.open();
        await starting;
        expect((await check(health, '')).status).toBe(SERVING);
        expect((await check(health, 'gated')).status).toBe(SERVING);
      } finally {
        health.close();
      }
    } finally {
      init.open();
      await starting.catch(() => undefined);
      await loader.stop();
    }
  });

  it('Watch sends SERVING, NOT_SERVING as soon as a stop begins, and ends when stopped', async () => {
    const own = await serve();
    const health = healthClient(own.address);
    const call = health.Watch({ service: '' });
    const seen: number[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    ended.catch(() => undefined);
    call.on('data', (r: HealthCheckResponse__Output) => seen.push(r.status));
    try {
      await vi.waitFor(() => expect(seen).toEqual([SERVING]));
      const stopping = own.loader.stop();
      await vi.waitFor(() => expect(seen).toEqual([SERVING, NOT_SERVING]));
      // The watcher never cancels: the loader ends the stream itself, or stop() would hang.
      await Promise.all([stopping, ended]);
    } finally {
      call.cancel();
      health.close();
      await own.close();
    }
  });
});
