/** The closed loop behind aiges xtest and the benchmark: call numbering, limits, stop, failures. */
import { describe, expect, it } from 'vitest';
import { startLoop } from '../../../loader/tools/xtest/loop.js';

/** A call that waits until released, so a test decides when calls end. */
function gate() {
  const waiting: (() => void)[] = [];
  const started: number[] = [];
  return {
    started,
    inFlight: () => waiting.length,
    call: (i: number) =>
      new Promise<void>((resolve) => {
        started.push(i);
        waiting.push(resolve);
      }),
    releaseAll: () => {
      for (const r of waiting.splice(0)) r();
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('startLoop', () => {
  it('makes calls 0…n−1, never more than `concurrency` in flight', async () => {
    const g = gate();
    const loop = startLoop({ concurrency: 3, requests: 7 }, g.call);
    await tick();
    expect(g.started).toEqual([0, 1, 2]);
    while (g.inFlight() > 0) {
      expect(g.inFlight()).toBeLessThanOrEqual(3);
      g.releaseAll();
      await tick();
    }
    await loop.done;
    expect(g.started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([loop.issued, loop.stopped]).toEqual([7, false]);
  });

  it('starts no call once the duration has passed', async () => {
    const calls: number[] = [];
    const loop = startLoop({ concurrency: 2, durationMs: 50, startedAt: performance.now() - 50 }, async (i) => {
      calls.push(i);
    });
    await loop.done;
    expect(calls).toEqual([]);
  });

  it('on stop() starts nothing more, the ramp-up included, and lets calls in flight finish', async () => {
    const g = gate();
    const loop = startLoop({ concurrency: 4, rampUpMs: 60_000 }, g.call);
    await tick();
    // Worker 0 starts at once; the others would start 15, 30 and 45 s later.
    expect(g.started).toEqual([0]);
    loop.stop();
    expect(loop.stopped).toBe(true);
    g.releaseAll();
    await loop.done;
    expect(g.started).toEqual([0]);
  });

  it('stops at the first call that throws and rejects with it once the others have finished', async () => {
    const g = gate();
    let finished = 0;
    const loop = startLoop({ concurrency: 2 }, async (i) => {
      if (i === 1) throw new Error('call 1 failed');
      await g.call(i);
      finished++;
    });
    let settled = false;
    loop.done.catch(() => undefined).finally(() => (settled = true));
    await tick();
    expect(loop.stopped).toBe(true);
    expect(settled).toBe(false); // call 0 is still in flight
    g.releaseAll();
    await expect(loop.done).rejects.toThrow('call 1 failed');
    expect([finished, loop.issued]).toEqual([1, 2]);
  });
});
