/**
 * The parts of process isolation that need no process: the channel's framing (frames split and
 * joined across reads in any way), the channel over a real Unix socket (frames the kernel takes
 * only in part), the first-fit arena of the shared region, the restart backoff, and how items
 * cross (inline or shared, with the zero byte after shared inputs).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../loader/plugin/process/backoff.js';
import { Channel } from '../../loader/plugin/process/channel.js';
import { encodeFrame, FrameReader } from '../../loader/plugin/process/frames.js';
import { decodeInputs, encodeItems, itemBytes, Payloads } from '../../loader/plugin/process/messages.js';
import { Arena, SHARED_MIN_BYTES } from '../../loader/plugin/process/shared-region.js';
import type { DataItem } from '../../plugins/types.js';

describe('frames', () => {
  const frames = [
    encodeFrame({ t: 'a', id: 1 }),
    encodeFrame({ t: 'b', n: 'héllo' }, [Buffer.from('xy'), Buffer.from('z')]),
    encodeFrame({ t: 'c' }),
  ];
  const stream = Buffer.concat(frames);

  it('reads frames however the stream is cut', () => {
    for (const cut of [1, 3, 7, stream.length]) {
      const reader = new FrameReader();
      const got: { header: unknown; payload: string }[] = [];
      for (let at = 0; at < stream.length; at += cut) {
        for (const f of reader.push(stream.subarray(at, at + cut))) got.push({ header: f.header, payload: f.payload.toString() });
      }
      expect(got).toEqual([
        { header: { t: 'a', id: 1 }, payload: '' },
        { header: { t: 'b', n: 'héllo' }, payload: 'xyz' },
        { header: { t: 'c' }, payload: '' },
      ]);
    }
  });

  it('a frame within one read is a view of it; one spanning reads is joined once', () => {
    const reader = new FrameReader();
    const one = encodeFrame({ t: 'x' }, [Buffer.alloc(100, 1)]);
    const [frame] = reader.push(one);
    expect(frame!.payload.buffer).toBe(one.buffer);
    const two = encodeFrame({ t: 'y' }, [Buffer.alloc(100, 2)]);
    expect(reader.push(two.subarray(0, 50))).toEqual([]);
    const [joined] = reader.push(two.subarray(50));
    expect(joined!.payload.equals(Buffer.alloc(100, 2))).toBe(true);
  });
});

describe('Channel', () => {
  /** Two ends of a real Unix stream socket, as a plugin process's channel is. */
  async function socketPair(): Promise<{ a: Socket; b: Socket; close(): void }> {
    const dir = mkdtempSync(join(tmpdir(), 'aiges-channel-'));
    const path = join(dir, 's');
    const server = createServer();
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const a = connect(path);
    const b = await accepted;
    return {
      a,
      b,
      close() {
        a.destroy();
        b.destroy();
        server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  it('frames the kernel takes only in part arrive whole and in order, with the ones sent behind them', async () => {
    const pair = await socketPair();
    try {
      const got: { header: unknown; payload: Buffer }[] = [];
      const all = new Promise<void>((resolve) => {
        new Channel(
          pair.b,
          (frame) => {
            got.push(frame);
            if (got.length === 4) resolve();
          },
          () => undefined,
        );
      });
      const sender = new Channel(
        pair.a,
        () => undefined,
        () => undefined,
      );
      // Far more than a socket buffer: the first write goes in part, the rest waits in the queue,
      // and the frames after it queue behind it.
      const big = [randomBytes(8 << 20), randomBytes(3 << 20)];
      sender.send({ n: 1 }, [Buffer.from('first')]);
      sender.send({ n: 2 }, [big[0]!]);
      sender.send({ n: 3 });
      sender.send({ n: 4 }, [big[1]!]);
      await all;
      expect(got.map((f) => f.header)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
      expect(got[0]!.payload.toString()).toBe('first');
      expect(got[1]!.payload.equals(big[0]!)).toBe(true);
      expect(got[2]!.payload.length).toBe(0);
      expect(got[3]!.payload.equals(big[1]!)).toBe(true);
    } finally {
      pair.close();
    }
  });
});

describe('Arena', () => {
  it('hands out 64-byte aligned blocks first fit from the lowest address, merges freed neighbours, says when it is full', () => {
    const arena = new Arena(1024, 640);
    const a = arena.alloc(1);
    const b = arena.alloc(100);
    const c = arena.alloc(64);
    expect([a, b, c]).toEqual([1024, 1088, 1216]);
    expect(arena.usedBytes).toBe(64 + 128 + 64);
    expect(arena.alloc(640)).toBe(-1);
    expect(arena.free(b)).toBe(true);
    expect(arena.free(b)).toBe(false);
    // The lowest free block that fits is reused.
    expect(arena.alloc(50)).toBe(1088);
    expect(arena.free(1088)).toBe(true);
    expect(arena.free(a)).toBe(true);
    expect(arena.free(c)).toBe(true);
    // Everything merged back into one extent.
    expect([arena.usedBytes, arena.blocks]).toEqual([0, 0]);
    expect(arena.alloc(640)).toBe(1024);
  });
});

describe('Backoff', () => {
  it('doubles from 100 ms up to 10 s, and starts over after a reset', () => {
    const backoff = new Backoff();
    const delays = Array.from({ length: 9 }, () => backoff.next());
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});

describe('items on the wire', () => {
  const item = (key: string, data: Buffer): DataItem => ({ key, type: 1, status: 3, encoding: 'pcm', attributes: { rate: '16000' }, data });

  it('small bytes travel inline, large ones through the arena followed by a zero byte', () => {
    const region = new ArrayBuffer(4 * SHARED_MIN_BYTES);
    const bytes = new Uint8Array(region);
    bytes.fill(7);
    const shared = { arena: new Arena(0, region.byteLength), bytes };
    const payloads = new Payloads();
    const blocks: number[] = [];
    const small = Buffer.from('hi');
    const large = Buffer.alloc(SHARED_MIN_BYTES, 3);
    const wire = encodeItems([item('s', small), item('l', large)], shared, payloads, blocks);
    expect(wire.map((w) => [w.key, w.shared, w.off, w.len])).toEqual([
      ['s', undefined, 0, 2],
      ['l', 1, 0, SHARED_MIN_BYTES],
    ]);
    expect(blocks).toEqual([0]);
    expect(bytes[SHARED_MIN_BYTES]).toBe(0);
    const payload = Buffer.concat(payloads.list);
    const decoded = decodeInputs(wire, payload, region);
    expect(decoded.map((d) => [d.key, d.type, d.status, d.encoding, d.attributes])).toEqual([
      ['s', 1, 3, 'pcm', { rate: '16000' }],
      ['l', 1, 3, 'pcm', { rate: '16000' }],
    ]);
    expect(decoded[0]!.data.toString()).toBe('hi');
    expect(decoded[1]!.data.equals(large)).toBe(true);
    // In place: a view of the region, not a copy.
    expect(decoded[1]!.data.buffer).toBe(region);
    expect(itemBytes(wire[0]!, payload, undefined).toString()).toBe('hi');
  });

  it('without room in the arena (or without a region) large bytes travel inline too', () => {
    const region = new ArrayBuffer(SHARED_MIN_BYTES);
    const shared = { arena: new Arena(0, region.byteLength), bytes: new Uint8Array(region) };
    const payloads = new Payloads();
    const blocks: number[] = [];
    const wire = encodeItems([item('l', Buffer.alloc(SHARED_MIN_BYTES, 3))], shared, payloads, blocks);
    expect([wire[0]!.shared, blocks]).toEqual([undefined, []]);
    expect(encodeItems([item('l', Buffer.alloc(SHARED_MIN_BYTES))], undefined, new Payloads(), [])[0]!.shared).toBeUndefined();
  });
});
