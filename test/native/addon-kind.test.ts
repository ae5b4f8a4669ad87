/** The `addon` kind: a Node-API module exporting the TS wrapper contract (demo/addon-checksum). */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer } from '../../loader/tools/client.js';
import type { DataItem } from '../../proto/gen/aiges/v1/DataItem.js';
import { expectFree, expectGrpcError, serve, type Served } from '../server/grpc-helpers.js';
import { artifacts, ensureNativeBuild } from './helpers.js';

const data = (bytes: Buffer, type: 0 | 4 = 4): DataItem => ({ key: 'data', type, status: 3, data: bytes });
let served: Served;

beforeAll(async () => {
  await ensureNativeBuild();
  served = await serve({ plugin: { path: artifacts.addonChecksum } });
}, 300_000);

afterAll(async () => {
  await served.close();
});

describe('addon kind', () => {
  it('loads a .node wrapper by extension and serves its exec (CRC-32 of "123456789" is cbf43926)', async () => {
    const res = await infer(served.client, { service: 'addon-checksum', items: [data(Buffer.from('123456789'))] });
    expect(res.items[0]?.data.toString()).toBe('crc32=cbf43926 bytes=9');
    expect(res.items[0]?.encoding).toBe('utf8');
  });

  it('computes over a 4 MiB payload off the JS thread', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 0xab);
    const res = await infer(served.client, { service: 'addon-checksum', items: [data(big)] });
    expect(res.items[0]?.data.toString()).toMatch(/^crc32=[0-9a-f]{8} bytes=4194304$/);
    await expectFree(served.loader);
  });

  it("validates requests against the addon's schema", async () => {
    await expectGrpcError(
      infer(served.client, { service: 'addon-checksum', items: [data(Buffer.from('x'), 0)] }),
      grpc.status.INVALID_ARGUMENT,
      10106,
    );
    await expectGrpcError(infer(served.client, { service: 'addon-checksum', items: [] }), grpc.status.INVALID_ARGUMENT, 10106);
  });
});
