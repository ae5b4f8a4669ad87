/**
 * Large outputs: blocks of `pooledMinBytes` or more are recycled once V8 has collected the Buffer
 * that owned them, never while any Buffer still references them; every result is intact either way.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { outputPoolStats, POOLED_MIN_BYTES, releaseOutput, type NativeLibrary } from '../../native/host.js';
import { artifacts, ensureNativeBuild, item, useLibraries } from './helpers.js';

beforeAll(ensureNativeBuild, 240_000);

// A full collection on demand, so that dropped Buffers are finalized when the test needs it.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects until every pooled block is idle again (finalizers run after the collection, on the loop). */
async function collectAll(): Promise<void> {
  for (let round = 0; outputPoolStats().liveBlocks > 0; round++) {
    if (round === 50) throw new Error(`pooled blocks still live: ${JSON.stringify(outputPoolStats())}`);
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const openLib = useLibraries();
const echo = (): Promise<NativeLibrary> => openLib(artifacts.echo, { mode: 'once', async: false, threads: 2 });

async function roundTrip(lib: NativeLibrary, data: Buffer): Promise<Buffer> {
  const out = await lib.exec('big', {}, [item('d', data)], 10_000);
  return out[0]!.data;
}

/**
 * Echoes `count` random payloads of `size` bytes at once; true when every result matched. The
 * results are unreachable once it returns (locals of a finished call, not of the test's frame).
 */
async function echoes(lib: NativeLibrary, size: number, count = 1): Promise<boolean> {
  const sent = Array.from({ length: count }, () => randomBytes(size));
  const got = await Promise.all(sent.map((d) => roundTrip(lib, d)));
  return got.every((g, i) => g.equals(sent[i]!));
}

describe('output block pool', () => {
  it('recycles the block of a collected result into the next one of its size class, intact', async () => {
    const lib = await echo();
    const { pooledMinBytes } = outputPoolStats();
    const sizes = [pooledMinBytes, pooledMinBytes + 1, 3 * pooledMinBytes + 7];
    for (const size of sizes) {
      expect(await echoes(lib, size)).toBe(true);
      await collectAll();
      const reusedBefore = outputPoolStats().reused;
      expect(await echoes(lib, size)).toBe(true);
      expect(outputPoolStats().reused).toBe(reusedBefore + 1);
    }
  });

  it('never hands out a block whose Buffer is still referenced', async () => {
    const lib = await echo();
    const size = 2 * outputPoolStats().pooledMinBytes;
    const kept: Array<{ sent: Buffer; got: Buffer }> = [];
    for (let i = 0; i < 6; i++) {
      const sent = randomBytes(size);
      kept.push({ sent, got: await roundTrip(lib, sent) });
      // Dropped results of the same size class, collected: their blocks are recycled meanwhile.
      expect(await echoes(lib, size)).toBe(true);
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(outputPoolStats().reused).toBeGreaterThan(0);
    for (const { sent, got } of kept) expect(got.equals(sent)).toBe(true);
  });

  it('keeps no more than maxIdleBytes idle, and leaves small outputs out of the pool', async () => {
    const lib = await echo();
    const { maxIdleBytes, pooledMinBytes } = outputPoolStats();
    // More live blocks than the idle cap can hold, all dropped at once.
    const size = 16 * 1024 * 1024;
    expect(await echoes(lib, size, Math.ceil(maxIdleBytes / size) + 2)).toBe(true);
    await collectAll();
    expect(outputPoolStats().idleBytes).toBeLessThanOrEqual(maxIdleBytes);

    const before = outputPoolStats();
    const small = randomBytes(pooledMinBytes - 1);
    expect((await roundTrip(lib, small)).equals(small)).toBe(true);
    expect(outputPoolStats()).toMatchObject({ liveBlocks: before.liveBlocks, reused: before.reused });
  });
});

describe('releaseOutput', () => {
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it("POOLED_MIN_BYTES is the addon's pooled size", () => {
    expect(POOLED_MIN_BYTES).toBe(outputPoolStats().pooledMinBytes);
  });

  it("gives a large output's block back at once (no GC): the next output reuses it, the released Buffer reads empty", async () => {
    const lib = await echo();
    const size = 4 * POOLED_MIN_BYTES;
    await collectAll();
    const sent = randomBytes(size);
    const got = await roundTrip(lib, sent);
    expect(got.equals(sent)).toBe(true);
    const live = outputPoolStats().liveBlocks;
    expect(live).toBeGreaterThan(0);
    expect(releaseOutput(got)).toBe(true);
    expect(got.length).toBe(0); // detached: every view reads as empty, no freed memory behind it
    await settle(); // the block returns to the pool from the Buffer's finalizer, on the loop
    expect(outputPoolStats().liveBlocks).toBe(live - 1);
    // A steady stream of released outputs runs on one block, reused every time.
    const reusedBefore = outputPoolStats().reused;
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(size);
      const out = await roundTrip(lib, data);
      expect(out.equals(data)).toBe(true);
      expect(releaseOutput(out)).toBe(true);
      await settle();
    }
    expect(outputPoolStats().reused).toBe(reusedBefore + 20);
    expect(outputPoolStats().liveBlocks).toBe(live - 1);
  });

  it('leaves alone what the host did not make, small outputs, views, and a released Buffer', async () => {
    const lib = await echo();
    const own = randomBytes(2 * POOLED_MIN_BYTES);
    const copy = Buffer.from(own);
    expect(releaseOutput(own)).toBe(false);
    expect(own.equals(copy)).toBe(true);

    const small = await roundTrip(lib, Buffer.from('small output'));
    expect(releaseOutput(small)).toBe(false);
    expect(small.toString()).toBe('small output');

    const big = await roundTrip(lib, copy);
    expect(releaseOutput(big.subarray(1))).toBe(false); // a view that does not start the block
    expect(big.equals(copy)).toBe(true);
    expect(releaseOutput(big)).toBe(true);
    expect(releaseOutput(big)).toBe(false);
  });
});
