import { describe, expect, it } from 'vitest';
import { RESULT_SOURCE, ResultQueue } from '../../plugins/result-queue.js';
import type { OutputItem } from '../../plugins/types.js';

const batch = (data: string): OutputItem[] => [{ key: 'text', data }];

/** Tracks whether a promise has settled, without waiting on time. */
function track<T>(p: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => {
      state.settled = true;
      state.value = v;
    },
    (e: unknown) => {
      state.settled = true;
      state.error = e;
    },
  );
  return state;
}

/** Lets every queued promise callback run (the queue is all microtasks). */
const flush = () => new Promise((resolve) => setImmediate(resolve));

async function drain(q: AsyncIterable<readonly OutputItem[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const b of q) out.push(b.map((i) => String(i.data)).join(''));
  return out;
}

describe('ResultQueue', () => {
  it('push returns nothing to wait for below the high-water mark and a promise at it (backpressure)', async () => {
    const q = new ResultQueue(2);
    expect(q.push(batch('a'))).toBeUndefined(); // size 1 < 2
    const second = track(q.push(batch('b'))!); // size 2: must wait
    const third = track(q.push(batch('c'))!); // size 3: must wait
    await flush();
    expect(q.size).toBe(3);
    expect(second.settled).toBe(false);
    expect(third.settled).toBe(false);

    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(batch('a')); // size 2: still at the mark
    await flush();
    expect(second.settled).toBe(false);
    expect((await it.next()).value).toEqual(batch('b')); // size 1: below, writers go
    await flush();
    expect(second.settled).toBe(true);
    expect(third.settled).toBe(true);
    expect(second.error).toBeUndefined();
    expect((await it.next()).value).toEqual(batch('c'));
  });

  it('a high-water mark below 1 behaves as 1', async () => {
    const q = new ResultQueue(0);
    const first = track(q.push(batch('a'))!);
    await flush();
    expect(first.settled).toBe(false);
    const it = q[Symbol.asyncIterator]();
    await it.next();
    await flush();
    expect(first.settled).toBe(true);
  });

  it('a waiting reader wakes on push, and items come out in order', async () => {
    const q = new ResultQueue();
    const read = drain(q);
    await flush();
    await q.push(batch('1'));
    await q.push(batch('2'));
    await flush();
    await q.push(batch('3'));
    q.close();
    await expect(read).resolves.toEqual(['1', '2', '3']);
  });

  it('close ends the iteration after the queued results; push after close throws', async () => {
    const q = new ResultQueue();
    await q.push(batch('a'));
    await q.push(batch('b'));
    q.close();
    expect(() => q.push(batch('c'))).toThrow(/push after close/);
    await expect(drain(q)).resolves.toEqual(['a', 'b']);
  });

  it('close wakes a reader waiting on an empty queue', async () => {
    const q = new ResultQueue();
    const read = drain(q);
    await flush();
    q.close();
    await expect(read).resolves.toEqual([]);
  });

  it('fail makes the iteration throw the error after the queued results', async () => {
    const q = new ResultQueue();
    await q.push(batch('a'));
    const boom = new Error('model died');
    q.fail(boom);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const b of q) seen.push(String(b[0]?.data));
      })(),
    ).rejects.toBe(boom);
    expect(seen).toEqual(['a']);
  });

  it('fail wakes a waiting reader; fail(undefined) still fails', async () => {
    const q = new ResultQueue();
    const read = drain(q);
    await flush();
    q.fail(undefined);
    await expect(read).rejects.toThrow(/ResultQueue failed/);
  });

  it('can be iterated only once', async () => {
    const q = new ResultQueue();
    const first = q[Symbol.asyncIterator]();
    const pending = first.next();
    const second = q[Symbol.asyncIterator]();
    await expect(second.next()).rejects.toThrow(/read twice/);
    // The failed second iteration leaves the first working.
    await q.push(batch('x'));
    await expect(pending).resolves.toEqual({ done: false, value: batch('x') });
    q.close();
    await expect(first.next()).resolves.toMatchObject({ done: true });
  });

  it('returning early from the iteration unblocks waiting writers; later pushes are dropped', async () => {
    const q = new ResultQueue(1);
    const w1 = track(q.push(batch('a'))!);
    const w2 = track(q.push(batch('b'))!);
    await flush();
    expect(w1.settled).toBe(false);
    for await (const b of q) {
      expect(String(b[0]?.data)).toBe('a');
      break;
    }
    await flush();
    expect(w1.settled && w2.settled).toBe(true);
    expect(w1.error ?? w2.error).toBeUndefined();
    // The reader is gone (the session is over): not the plugin's fault, so no throw.
    expect(q.push(batch('c'))).toBeUndefined();
    expect(q.size).toBe(0);
  });
});

describe('ResultQueue as the loader reads it (RESULT_SOURCE)', () => {
  it('poll takes batches without a promise, undefined when empty, done after close; onReadable wakes once', () => {
    const q = new ResultQueue();
    const source = q[RESULT_SOURCE]();
    expect(source.poll()).toBeUndefined();
    let woken = 0;
    source.onReadable(() => woken++);
    q.push(batch('a'));
    q.push(batch('b'));
    expect(woken).toBe(1);
    expect(source.poll()).toEqual({ done: false, value: batch('a') });
    expect(source.poll()).toEqual({ done: false, value: batch('b') });
    expect(source.poll()).toBeUndefined();
    q.close();
    expect(woken).toBe(1); // nobody asked again
    expect(source.poll()).toMatchObject({ done: true });
  });

  it('poll throws the failure after the queued batches', () => {
    const q = new ResultQueue();
    const source = q[RESULT_SOURCE]();
    q.push(batch('a'));
    const boom = new Error('model died');
    q.fail(boom);
    expect(source.poll()).toEqual({ done: false, value: batch('a') });
    expect(() => source.poll()).toThrow(boom);
  });

  it('poll below the high-water mark releases waiting writers; cancel releases them all and drops later pushes', async () => {
    const q = new ResultQueue(2);
    const source = q[RESULT_SOURCE]();
    q.push(batch('a'));
    const w = track(q.push(batch('b'))!);
    source.poll();
    await flush();
    expect(w.settled).toBe(true);
    const w2 = track(q.push(batch('c'))!);
    source.cancel();
    await flush();
    expect(w2.settled).toBe(true);
    expect(q.push(batch('d'))).toBeUndefined();
  });

  it('is read once: a second source or an iteration is refused', () => {
    const q = new ResultQueue();
    q[RESULT_SOURCE]();
    expect(() => q[RESULT_SOURCE]()).toThrow(/read twice/);
  });
});
