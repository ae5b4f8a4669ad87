/**
 * V8 settings of the processes that serve calls: every `aiges` command (cli/v8-settings.ts, the
 * first import of cli/main.ts, so that they hold before anything else runs) and the plugin
 * processes of `isolation = "process"` (on their command line, process/connection.ts). Worker
 * threads share their process's.
 *
 * NOTE: --no-allocation-site-pretenuring. V8 counts, per allocation site, how many of its objects
 * survive a young GC, and from a site whose objects all survive it allocates in old space from then
 * on. A server's per-call sites can be judged so by a young GC that falls while many calls are in
 * flight (a burst, a slow start); from then on one object of every call is born old, and whatever
 * it points to survives each young GC until the next full one: young GCs copy most of what they
 * scan, old space fills, full GCs come twice as often. Which process got into that state was
 * chance, so throughput on one workload came in two modes run to run (BENCHMARKS.md, runs of
 * 2026-12-06 23:00 UTC); without the heuristic every call's objects die young.
 */
import { setFlagsFromString } from 'node:v8';

/** The flags, as a node command line takes them. */
export const SERVER_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/**
 * Sets SERVER_V8_FLAGS in this process. Call it before the process allocates much: a site V8 has
 * already judged long-lived keeps that judgement.
 */
export function applyServerV8Flags(): void {
  for (const flag of SERVER_V8_FLAGS) setFlagsFromString(flag);
}
