/**
 * The native kind through the whole loader over gRPC: demo/native-echo (an AIGes C-ABI library)
 * in once and session mode, sync and async; plugin error codes; a wrapper that never calls back;
 * a library missing a required symbol; sessions leaving nothing behind.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { infer, runSession } from '../../loader/tools/client.js';
import { outputPoolStats, POOLED_MIN_BYTES } from '../../native/host.js';
import { call } from '../server/http-helpers.js';
import type { DataItem } from '../../proto/gen/aiges/v1/DataItem.js';
import { expectFree, expectGrpcError, serve, type Served } from '../server/grpc-helpers.js';
import { artifacts, ensureNativeBuild, probe } from './helpers.js';

const { INTERNAL, DEADLINE_EXCEEDED } = grpc.status;
const text = (s: string, status: 0 | 1 | 2 | 3 = 3): DataItem => ({ key: 'text', type: 0, status, encoding: 'utf8', data: Buffer.from(s) });

let served: Served[] = [];
async function start(mode: 'once' | 'session', async: boolean, limits: Record<string, unknown> = {}): Promise<Served> {
  const s = await serve({
    plugin: { kind: 'native', path: artifacts.echo, concurrency: 2, native: { service: 'native-echo', mode, async } },
    limits,
  });
  served.push(s);
  return s;
}

beforeAll(async () => {
  await ensureNativeBuild();
}, 300_000);

afterEach(async () => {
  await Promise.all(served.map((s) => s.close()));
  served = [];
});

describe.each([false, true])('native-echo, async=%s', (async) => {
  it('once: echoes items with encoding, attributes and binary data', async () => {
    const { client, loader } = await start('once', async);
    const data = Buffer.from([0, 1, 2, 255, 254]);
    const res = await infer(client, {
      service: 'native-echo',
      items: [text('héllo'), { key: 'audio', type: 1, status: 3, encoding: 'pcm_s16le', attributes: { sample_rate: '16000' }, data }],
    });
    expect(res.items.map((i) => [i.key, i.type, i.encoding, i.attributes, [...i.data]])).toEqual([
      ['text', 0, 'utf8', {}, [...Buffer.from('héllo')]],
      ['audio', 1, 'pcm_s16le', { sample_rate: '16000' }, [...data]],
    ]);
    await expectFree(loader);
  });

  it('session: frames echoed in order, last response END', async () => {
    const { client, loader } = await start('session', async);
    const frames = ['a', 'b', 'c'].map((s, i) => [text(s, i === 2 ? 2 : 1)]);
    const { responses } = await runSession(client, { service: 'native-echo' }, frames);
    const texts = responses.flatMap((r) => r.items.map((i) => i.data.toString()));
    expect(texts).toEqual(['a', 'b', 'c']);
    expect(responses.at(-1)?.status).toBe(2);
    await expectFree(loader);
  });

  it('session: a client half-close without an END frame still ends the session', async () => {
    const { client, loader } = await start('session', async);
    const { responses } = await runSession(client, { service: 'native-echo' }, [[text('x', 1)], [text('y', 1)]]);
    expect(responses.flatMap((r) => r.items.map((i) => i.data.toString())).filter((s) => s !== '')).toEqual(['x', 'y']);
    expect(responses.at(-1)?.status).toBe(2);
    await expectFree(loader);
  });

  it("a wrapper error code → 10909 with wrapperError's text", async () => {
    const { client, loader } = await start('once', async);
    const details = await expectGrpcError(
      infer(client, { service: 'native-echo', params: { fail: '1001' }, items: [text('x')] }),
      INTERNAL,
      10909,
    );
    expect(details).toMatch(/returned 1001: native-echo: failure requested/);
    await expectFree(loader);
  });
});

describe('large native outputs through the adapters', () => {
  it('gRPC and HTTP answer 2 MiB echoes intact and give each output block back once it is serialized (no GC needed)', async () => {
    const { client, loader } = await start('once', false);
    const before = outputPoolStats();
    for (let i = 0; i < 6; i++) {
      const data = randomBytes(2 * POOLED_MIN_BYTES);
      const res = await infer(client, { service: 'native-echo', items: [{ key: 'data', type: 4, status: 3, data }] });
      expect(Buffer.compare(res.items[0]!.data, data)).toBe(0);
      const http = await call(
        loader,
        { header: { status: 3 }, payload: { data: { encoding: '', status: 3, data: data.toString('base64') } } },
        { service: 'native-echo' },
      );
      expect(http.status).toBe(200);
      expect(Buffer.from(http.body.payload.data.data as string, 'base64').equals(data)).toBe(true);
    }
    // 12 outputs of 2 MiB were made, and (almost) each reused the block of the one before: every
    // block went back to the pool when its response was serialized, not when V8 collected it
    // (24 MB of external memory: no GC runs for that meanwhile, so without the release nothing
    // would be reused).
    expect(outputPoolStats().reused - before.reused).toBeGreaterThanOrEqual(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outputPoolStats().liveBlocks).toBe(before.liveBlocks);
    await expectFree(loader);
  });
});

describe('native limits', () => {
  it('an async exec that never calls back: the deadline answers 10102 and frees the slot (no worker is held)', async () => {
    const { client, loader } = await start('once', true, { default_deadline_ms: 300 });
    await expectGrpcError(
      infer(client, { service: 'native-echo', params: { noreply: '1' }, items: [text('x')] }),
      DEADLINE_EXCEEDED,
      10102,
    );
    await expectFree(loader);
    await vi.waitFor(() => expect(loader.registry.get('native-echo').execSlots.available).toBe(2));
    const ok = await infer(client, { service: 'native-echo', items: [text('still serving')] });
    expect(ok.items[0]?.data.toString()).toBe('still serving');
  });

  it('the concurrency cap holds through the loader (threads = plugin.concurrency = 2)', async () => {
    const { client } = await start('once', false, { capacity: 16 });
    probe().reset(artifacts.echo);
    const calls = Array.from({ length: 8 }, (_, i) =>
      infer(client, { service: 'native-echo', params: { delay_ms: '50' }, items: [text(`c${i}`)] }),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => r.items[0]?.data.toString())).toEqual(Array.from({ length: 8 }, (_, i) => `c${i}`));
    expect(probe().stats(artifacts.echo).maxOverlap).toBe(2);
  });

  it('200 sessions opened and closed leave no live handle and no slot', async () => {
    const { client, loader } = await start('session', false, { capacity: 8 });
    for (let i = 0; i < 200; i++) {
      await runSession(client, { service: 'native-echo' }, [[text(`s${i}`, 2)]]);
    }
    await expectFree(loader);
    expect(probe().stats(artifacts.echo).liveHandles).toBe(0);
  });

  it('a library missing a required symbol fails to load, naming the symbol', async () => {
    await expect(
      serve({ plugin: { kind: 'native', path: artifacts.missingExecFree, native: { service: 'x', mode: 'once' } } }),
    ).rejects.toThrow(/wrapperExecFree/);
  });
});

describe('native session backpressure', () => {
  it('a client that never reads fails the session (10908) instead of buffering without bound', async () => {
    const { nativeKind, MAX_PENDING_RESULTS } = await import('../../loader/plugin/kind-native.js');
    const { locatePlugin } = await import('../../loader/plugin/repository.js');
    const { createHarness, item } = await import('../../plugins/testing.js');
    const { RESULT_BUFFER_BATCHES } = await import('../../loader/dataplane/results.js');
    const wrapper = await nativeKind.load(locatePlugin(artifacts.echo, 'native'), {
      section: { service: 'native-echo', mode: 'session', async: true },
      schema: undefined,
      concurrency: 1,
    });
    const h = await createHarness(wrapper, { limits: { capacity: 2 } });
    try {
      const session = await h.session();
      // Far more than the harness's buffer and the kind's queue together hold, so the queue has
      // overflowed before the reading starts even with results still on their way from the host.
      for (let i = 0; i < 2 * MAX_PENDING_RESULTS + RESULT_BUFFER_BATCHES; i++) await session.write([item('text', `f${i}`, { status: 1 })]);
      let received = 0;
      const failure = await (async () => {
        for await (const r of session.results) received += r.items.length;
      })().catch((e: unknown) => e);
      expect(failure).toMatchObject({ aigesCode: 10908 });
      // Held at most in the kind's queue and the harness's buffer, both bounded.
      expect(received).toBeLessThanOrEqual(MAX_PENDING_RESULTS + RESULT_BUFFER_BATCHES);
      await vi.waitFor(() => expect(h.dataplane.admission.inUse).toBe(0));
    } finally {
      await h.close();
    }
  });
});
