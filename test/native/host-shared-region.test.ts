/**
 * Native host, shared regions (native/host/shared_region.h): memory made here and mapped again
 * from its fd is the same memory; a sync exec's input that lies in a region with a zero byte after
 * it reaches the wrapper where it lies (no host copy), anything else is copied as before.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSharedRegion, mapSharedRegion, type NativeLibrary } from '../../native/host.js';
import { artifacts, ensureNativeBuild, item, probe, useLibraries } from './helpers.js';

beforeAll(ensureNativeBuild, 240_000);

const openLib = useLibraries();
const echo = (async: boolean): Promise<NativeLibrary> => openLib(artifacts.echo, { mode: 'once', async, threads: 1 });
const BYTES = 1 << 20;

/** A view of `region` at `at` holding `data`, followed by `after`. */
function place(region: ArrayBuffer, at: number, data: Buffer, after: number): Buffer {
  const view = Buffer.from(region, at, data.length);
  data.copy(view);
  new Uint8Array(region)[at + data.length] = after;
  return view;
}

describe('shared regions', () => {
  it('maps the same memory again from its fd', () => {
    const made = createSharedRegion(BYTES);
    const again = mapSharedRegion(made.fd, BYTES);
    new Uint8Array(made.memory).set([1, 2, 3], 100);
    expect([...new Uint8Array(again, 100, 3)]).toEqual([1, 2, 3]);
    new Uint8Array(again)[BYTES - 1] = 9;
    expect(new Uint8Array(made.memory)[BYTES - 1]).toBe(9);
  });

  it('refuses a mapping larger than the region', () => {
    const made = createSharedRegion(BYTES);
    expect(() => mapSharedRegion(made.fd, 2 * BYTES)).toThrow(/the region is 1048576 bytes, not 2097152/);
  });

  it('a sync exec reads an input in a region, followed by a zero byte, where it lies', async () => {
    const lib = await echo(false);
    const { memory } = createSharedRegion(BYTES);
    const data = randomBytes(4096);
    const inPlace = place(memory, 64, data, 0);
    const [out] = await lib.exec('s', { report: '1' }, [item('a', inPlace)], 5000);
    expect(out!.desc['ptr']).toBe(probe().bufferAddress(inPlace));
    expect(out!.data.equals(data)).toBe(true);
  });

  it('copies an input in a region without a zero byte after it, one outside any region, and every async exec input', async () => {
    const { memory } = createSharedRegion(BYTES);
    const data = randomBytes(4096);
    const noZero = place(memory, 64, data, 7);
    const outside = Buffer.from(data);
    const sync = await echo(false);
    for (const input of [noZero, outside]) {
      const [out] = await sync.exec('s', { report: '1' }, [item('a', input)], 5000);
      expect(out!.desc['ptr']).not.toBe(probe().bufferAddress(input));
      expect(out!.data.equals(data)).toBe(true);
    }
    // An async exec's caller may be answered (and free its inputs) while wrapperExecAsync still runs.
    const inPlace = place(memory, 8192, data, 0);
    const [out] = await (await echo(true)).exec('a', { report: '1' }, [item('a', inPlace)], 5000);
    expect(out!.desc['ptr']).not.toBe(probe().bufferAddress(inPlace));
  });

  it('an input reaching the end of the region is copied (its zero byte would lie outside)', async () => {
    const lib = await echo(false);
    const { memory } = createSharedRegion(BYTES);
    const tail = Buffer.from(memory, BYTES - 100, 100);
    tail.fill(1);
    const [out] = await lib.exec('s', { report: '1' }, [item('a', tail)], 5000);
    expect(out!.desc['ptr']).not.toBe(probe().bufferAddress(tail));
    expect(out!.data.equals(Buffer.alloc(100, 1))).toBe(true);
  });
});
