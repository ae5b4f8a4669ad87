import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoaderClient, infer, runSession, type LoaderClient } from '../../loader/tools/client.js';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { createHarness, item } from '../../plugins/testing.js';
import { DataStatus, DataType } from '../../plugins/types.js';
import echo from './wrapper.js';

describe('echo in-process', () => {
  it('returns every item unchanged in once mode', async () => {
    const h = await createHarness(echo);
    const input = [
      item('text', 'hello', { encoding: 'utf8' }),
      item('audio', Buffer.from([1, 2, 3, 4]), { type: 'audio', encoding: 'pcm_s16le', attributes: { sample_rate: '16000' } }),
    ];
    const out = await h.infer(input);
    expect(out).toEqual(input);
  });

  it('echoes each session frame in order and ends with the END frame', async () => {
    const h = await createHarness(echo);
    const frames = ['a', 'b', 'c'].map((s, i) => [item('text', s, { status: i === 2 ? DataStatus.END : DataStatus.CONTINUE })]);
    const out = await h.runSession(frames);
    expect(out.map((batch) => batch.map((x) => [x.data.toString(), x.status]))).toEqual([
      [['a', DataStatus.CONTINUE]],
      [['b', DataStatus.CONTINUE]],
      [['c', DataStatus.END]],
    ]);
    expect(h.dataplane.admission.inUse).toBe(0);
  });
});

describe('echo over gRPC', () => {
  let loader: Loader;
  let client: LoaderClient;

  beforeAll(async () => {
    loader = new Loader(
      loadConfig({
        overrides: {
          server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
          plugin: { path: 'demo/echo' },
          log: { level: 'silent' },
        },
      }),
      { defaultMetrics: false },
    );
    await loader.start();
    client = createLoaderClient(`127.0.0.1:${loader.grpcPort}`);
  });

  afterAll(async () => {
    client.close();
    await loader.stop();
  });

  it('once', async () => {
    const res = await infer(client, {
      service: 'echo',
      items: [
        { key: 'data', type: DataType.OTHER, status: DataStatus.ONCE, encoding: 'raw', attributes: { w: '2' }, data: Buffer.from([9, 8]) },
      ],
    });
    expect(res.items).toHaveLength(1);
    expect(res.items[0]).toMatchObject({
      key: 'data',
      type: DataType.OTHER,
      status: DataStatus.ONCE,
      encoding: 'raw',
      attributes: { w: '2' },
    });
    expect([...(res.items[0]?.data ?? [])]).toEqual([9, 8]);
  });

  it('session: half-close ends input, last response has status END', async () => {
    const frames = ['one', 'two'].map((s) => [{ key: 'text', type: DataType.TEXT, status: DataStatus.CONTINUE, data: Buffer.from(s) }]);
    const { responses } = await runSession(client, { service: 'echo' }, frames);
    expect(responses.map((r) => r.items.map((i) => i.data.toString()))).toEqual([['one'], ['two'], []]);
    expect(responses.map((r) => r.status)).toEqual([DataStatus.CONTINUE, DataStatus.CONTINUE, DataStatus.END]);
    expect(new Set(responses.map((r) => r.sid)).size).toBe(1);
  });
});
