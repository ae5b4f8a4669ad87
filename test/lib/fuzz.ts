/**
 * Shared by the fuzz tests (`*-fuzz.test.ts`): how many cases a property runs, and the leak check
 * after a server has been fuzzed (open handles and memory back near where they started).
 *
 * `AIGES_FUZZ_RUNS` scales every property for a longer hunt (`AIGES_FUZZ_RUNS=2000 npx vitest run
 * test/server/http-fuzz.test.ts`); the default keeps the fuzz files to seconds each on a loaded
 * machine. fast-check prints the seed and path of a failure; `fc.assert(..., { seed, path })`
 * replays it.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { expect } from 'vitest';

/** Cases per property (a file's properties scale from it). */
export const FUZZ_RUNS = Number(process.env.AIGES_FUZZ_RUNS ?? 100);

/**
 * A full GC, when the runtime lets one be asked for: `--expose-gc` switched on for a new context
 * (the worker was not started with it).
 */
const gc: () => void = (() => {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Counts of the process's open handles and requests, by type (process.getActiveResourcesInfo). */
export function openResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

export interface Footprint {
  resources: Map<string, number>;
  heapUsed: number;
  rss: number;
}

/** The process's footprint after a full GC. */
export function footprint(): Footprint {
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { resources: openResources(), heapUsed, rss };
}

/**
 * Slack for memory after a fuzz run: a fuzz run allocates and frees (V8 and the allocator keep
 * some of it), a leak grows with the cases. These are wide on purpose: they catch a per-case
 * leak of request bodies, not the runtime's caches.
 */
const HEAP_SLACK = 48 * 1024 * 1024;
const RSS_SLACK = 256 * 1024 * 1024;

/**
 * Waits until no type of open handle outnumbers `before` (sockets closing, timers cleared by the
 * end of each call), then checks heap and RSS against it.
 */
export async function expectBackTo(before: Footprint): Promise<void> {
  // NOTE: polled by hand rather than with vi.waitFor, whose own timers would count as open
  // handles: here none of the test's timers is pending while the handles are counted. Sockets
  // the peer closed are released on later turns of the event loop, which on a loaded machine
  // takes more than vi.waitFor's default second.
  let grown: [string, number][] = [];
  for (const started = Date.now(); Date.now() - started < 5_000; await new Promise((resolve) => setTimeout(resolve, 50))) {
    grown = [...openResources()].filter(([type, n]) => n > (before.resources.get(type) ?? 0));
    if (grown.length === 0) break;
  }
  expect(grown, `open handles by type, before: ${JSON.stringify([...before.resources])}`).toEqual([]);
  const after = footprint();
  expect(after.heapUsed - before.heapUsed, 'heap growth after GC').toBeLessThan(HEAP_SLACK);
  expect(after.rss - before.rss, 'RSS growth').toBeLessThan(RSS_SLACK);
}
