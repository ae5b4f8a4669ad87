/** The test etcd itself: starts on free ports, survives a kill and resume with its data. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { TestEtcd } from '../etcd.js';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await TestEtcd.start();
}, 30_000);
afterAll(async () => {
  await etcd.stop();
});

describe('TestEtcd', () => {
  it('serves, and keeps its data across a kill and resume', async () => {
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      await client.put('polaris/test/key').value('v1');
      await etcd.kill();
      await etcd.resume();
      expect(await client.get('polaris/test/key').string()).toBe('v1');
    } finally {
      client.close();
    }
  });
});
