/**
 * The once-call path's own guarantees (loader/dataplane/once-call.ts): a sync exec, the per-call
 * logger, an abandoned plugin failing late, a client cancel while queued for an exec slot.
 */
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { ConfigSchema } from '../../loader/config/schema.js';
import { Codes } from '../../loader/errors.js';
import { createPlane } from '../../loader/plane.js';
import { PluginInstance } from '../../loader/plugin/instance.js';
import type { Cancellable } from '../../loader/dataplane/call.js';
import { defineWrapper } from '../../plugins/index.js';
import { item } from '../../plugins/testing.js';
import type { DataItem, RawRequest } from '../../plugins/types.js';
import { capturingLogger, gate, makePlane } from './helpers.js';

const text = { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } } as const;

function req(service: string, items: DataItem[], params: Record<string, string> = {}): RawRequest {
  return { service, params, headers: {}, items };
}

describe('once calls', () => {
  it('a sync exec (a value, not a promise) answers, and frees its admission and exec slots', async () => {
    const wrapper = defineWrapper({ id: 'sync', schema: text, exec: (request) => request.items });
    const { dataplane, instance } = await makePlane(wrapper, { concurrency: 1 });
    for (const word of ['a', 'b', 'c']) {
      const out = await dataplane.infer(req('sync', [item('text', word)]));
      expect(out[0]?.data.toString()).toBe(word);
    }
    expect(dataplane.admission.inUse).toBe(0);
    expect(instance.execSlots.available).toBe(1);
    expect(instance.users).toBe(0);
  });

  it('a sync exec that throws → 10909; one returning bad output → 10203; slots free after each', async () => {
    const wrapper = defineWrapper({
      id: 'syncbad',
      schema: text,
      exec(request) {
        if (request.items[0]?.data.toString() === 'throw') throw new Error('sync failure');
        return [{ key: 'nope', data: 'x' }];
      },
    });
    const { dataplane, instance } = await makePlane(wrapper, { concurrency: 1 });
    await expect(dataplane.infer(req('syncbad', [item('text', 'throw')]))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_EXEC,
      message: expect.stringContaining('sync failure'),
    });
    expect(dataplane.admission.inUse).toBe(0);
    expect(instance.execSlots.available).toBe(1);
    await expect(dataplane.infer(req('syncbad', [item('text', 'x')]))).rejects.toMatchObject({ aigesCode: Codes.INVALID_OUTPUT });
    expect(dataplane.admission.inUse).toBe(0);
    expect(instance.execSlots.available).toBe(1);
    expect(instance.users).toBe(0);
  });

  it("ctx.log tags each call's lines with its sid (and the service)", async () => {
    const { lines, log } = capturingLogger();
    const wrapper = defineWrapper({
      id: 'logs',
      schema: text,
      async exec(request, ctx) {
        ctx.log.info({ n: request.items.length }, 'exec ran');
        return request.items;
      },
    });
    const { dataplane } = await makePlane(wrapper, { log });
    await dataplane.infer(req('logs', [item('text', 'x')], { sid: 'req-1' }));
    await dataplane.infer(req('logs', [item('text', 'x')], { sid: 'req-2' }));
    await vi.waitFor(() => expect(lines.filter((l) => l['msg'] === 'exec ran')).toHaveLength(2));
    const ran = lines.filter((l) => l['msg'] === 'exec ran');
    expect(ran.map((l) => l['sid'])).toEqual(['req-1', 'req-2']);
    expect(ran.every((l) => l['service'] === 'logs')).toBe(true);
  });

  it('an abandoned plugin that rejects after the deadline is no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failed = gate();
      const wrapper = defineWrapper({
        id: 'late',
        schema: text,
        exec: () =>
          new Promise<never>((_, reject) =>
            setTimeout(() => {
              reject(new Error('too late'));
              failed.open();
            }, 60),
          ),
      });
      const { dataplane } = await makePlane(wrapper);
      await expect(dataplane.infer(req('late', [item('text', 'x')]), { deadline: Date.now() + 10 })).rejects.toMatchObject({
        aigesCode: Codes.EXEC_TIMEOUT,
      });
      expect(dataplane.admission.inUse).toBe(0);
      await failed.promise;
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a client cancel while queued for an exec slot → 10202, and the call never runs', async () => {
    let runs = 0;
    const started = gate();
    const release = gate();
    const wrapper = defineWrapper({
      id: 'queued',
      schema: text,
      async exec(request) {
        runs++;
        started.open();
        await release.promise;
        return request.items;
      },
    });
    const { dataplane, instance } = await makePlane(wrapper, { concurrency: 1 });
    const first = dataplane.infer(req('queued', [item('text', 'a')]));
    await started.promise;
    let target: Cancellable | undefined;
    const second = dataplane.infer(req('queued', [item('text', 'b')]), { onCancel: (call) => (target = call) });
    expect(dataplane.admission.inUse).toBe(2);
    target?.cancel();
    await expect(second).rejects.toMatchObject({ aigesCode: Codes.CANCELLED });
    expect(dataplane.admission.inUse).toBe(1);
    release.open();
    await first;
    expect(runs).toBe(1);
    expect(instance.execSlots.available).toBe(1);
    target?.cancel(); // after the end: nothing happens
    expect(dataplane.admission.inUse).toBe(0);
  });

  it('encode runs while the output is held; then the plugin kind takes the outputs back; without encode nothing is released', async () => {
    const released: string[] = [];
    const wrapper = defineWrapper({ id: 'rel', schema: text, exec: (request) => request.items });
    const config = ConfigSchema.parse({});
    const { registry, dataplane } = createPlane(config, pino({ level: 'silent' }));
    registry.put(
      await PluginInstance.create({
        wrapper,
        config: {},
        log: pino({ level: 'silent' }),
        concurrency: 1,
        initTimeoutMs: 1_000,
        meter: () => undefined,
        releaseOutput: (data) => released.push(data.toString()),
      }),
    );
    const encoded = await dataplane.infer(req('rel', [item('text', 'a')]), {
      encode: (items, sid) => {
        expect(released).toEqual([]); // not yet: the adapter still serializes
        return `${sid}:${items.map((i) => i.data.toString()).join()}`;
      },
    });
    expect(encoded).toMatch(/^[0-9a-f-]{36}:a$/);
    expect(released).toEqual(['a']);
    await dataplane.infer(req('rel', [item('text', 'b')]));
    expect(released).toEqual(['a']);
  });

  it("every error answer carries the request's sid: the client's, or the one made for it", async () => {
    const wrapper = defineWrapper({
      id: 'sids',
      schema: text,
      exec() {
        throw new Error('nope');
      },
    });
    const { dataplane } = await makePlane(wrapper);
    await expect(dataplane.infer(req('sids', [item('text', 'x')], { sid: 'mine' }))).rejects.toMatchObject({
      aigesCode: Codes.PLUGIN_EXEC,
      sid: 'mine',
    });
    // Refused before the plugin ran (an unknown key): the sid made for it is on the error.
    await expect(dataplane.infer(req('sids', [item('nope', 'x')]))).rejects.toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('a drain past its grace answers the calls left with 10101; the plugin keeps its exec slot until it returns', async () => {
    const release = gate();
    const started = gate();
    const wrapper = defineWrapper({
      id: 'stuck',
      schema: text,
      async exec(request) {
        started.open();
        await release.promise;
        return request.items;
      },
    });
    const { dataplane, instance } = await makePlane(wrapper, { concurrency: 1 });
    const call = dataplane.infer(req('stuck', [item('text', 'x')]));
    await started.promise;
    await expect(dataplane.drain(20)).resolves.toBe(false);
    await expect(call).rejects.toMatchObject({ aigesCode: Codes.INSTANCE_INACTIVE });
    expect(dataplane.admission.inUse).toBe(0);
    expect(instance.users).toBe(1);
    expect(instance.execSlots.available).toBe(0);
    release.open();
    await vi.waitFor(() => expect(instance.users).toBe(0));
    expect(instance.execSlots.available).toBe(1);
  });
});
