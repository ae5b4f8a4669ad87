/** /proc readings (loader/tools/proc.ts) of real processes, and xtest's summary of them. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { processCpuMicros, processMemory, ProcSampler, treeCpuMicros } from '../../loader/tools/proc.js';
import { procReport } from '../../loader/tools/xtest/proc-sampler.js';

/**
 * A child that burns CPU until killed, with a child of its own doing the same; both in a process
 * group of their own, so that `kill` ends the pair.
 */
async function busyTree() {
  const burn = 'for(;;){}';
  const script = `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(burn)}], { stdio: 'ignore' }); console.log('up'); ${burn}`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  await once(child.stdout, 'data');
  return { pid: child.pid as number, kill: () => process.kill(-(child.pid as number), 'SIGKILL') };
}

describe('proc readers', () => {
  it("reads this process's CPU time and memory", () => {
    const before = processCpuMicros(process.pid);
    const until = performance.now() + 30;
    while (performance.now() < until) {
      // burn some CPU
    }
    expect(processCpuMicros(process.pid)).toBeGreaterThan(before);
    const mem = processMemory(process.pid);
    expect(mem.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(mem.peakRssBytes).toBeGreaterThanOrEqual(mem.rssBytes);
    expect(mem.rssBytes % 1024).toBe(0);
  });

  it('adds the CPU time of every descendant in treeCpuMicros', async () => {
    const tree = await busyTree();
    try {
      const pid = tree.pid;
      // Both processes burn a core; wait until the pair has used clearly more than the parent alone.
      for (;;) {
        const own = processCpuMicros(pid);
        if (treeCpuMicros(pid) > own + 20_000) break;
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      tree.kill();
    }
  });

  it('throws for a process that does not exist', () => {
    expect(() => processCpuMicros(2_147_483_646)).toThrow(/ENOENT/);
    expect(() => processMemory(2_147_483_646)).toThrow(/ENOENT/);
  });
});

describe('ProcSampler', () => {
  it('samples at once, and reports the process gone once it has exited', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const sampler = new ProcSampler(child.pid as number, 60_000);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const { readings, exited } = sampler.stop();
    expect(exited).toBe(true);
    expect(readings).toHaveLength(1);
    expect(readings[0]?.rssBytes).toBeGreaterThan(0);
  });

  it('throws at once when the process cannot be read', () => {
    expect(() => new ProcSampler(2_147_483_646, 1000)).toThrow();
  });
});

describe("xtest's process report", () => {
  it('turns readings into per-interval and mean CPU shares and RSS bounds', () => {
    const readings = [
      { atMs: 10.4, cpuMicros: 1_000_000, rssBytes: 300 },
      { atMs: 1010.4, cpuMicros: 1_500_000, rssBytes: 500 },
      { atMs: 2010.4, cpuMicros: 3_000_000, rssBytes: 400 },
    ];
    expect(procReport(42, readings, false)).toEqual({
      pid: 42,
      samples: [
        { tMs: 10, cpuPercent: null, rssBytes: 300 },
        { tMs: 1010, cpuPercent: 50, rssBytes: 500 },
        { tMs: 2010, cpuPercent: 150, rssBytes: 400 },
      ],
      cpuPercent: { mean: 100, max: 150 },
      rssBytes: { min: 300, max: 500, last: 400 },
      exited: false,
    });
  });

  it('has no CPU share from a single reading', () => {
    const r = procReport(7, [{ atMs: 5, cpuMicros: 10, rssBytes: 1 }], true);
    expect(r.cpuPercent).toEqual({ mean: null, max: null });
    expect(r.exited).toBe(true);
  });
});
