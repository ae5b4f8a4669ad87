/**
 * V8 settings of the processes that serve calls: every `aiges` command (cli/v8-settings.ts, the
 * first import of cli/main.ts, so that they hold before anything else runs) and the plugin
 * processes of `isolation = "process"` (on their command line, process/connection.ts). Worker
 * threads share their process's.
 *
 * NOTE: --no-allocation-site-pretenuring. V8 counts, per allocation site, how many of its objects
 * survive a young GC, and from a site whose objects all survive it allocates in old space from then
 * on. A server's per-call sites can be judged so by a young GC that falls while many calls are in
 * flight (a burst, a slow start). In the loaders that got into that state, every part of a call,
 * from its HTTP/2 stream to the data plane's call, outlived young GCs: they copied most of what
 * they scanned, old space filled, full GCs came twice as often. Which start got there was chance,
 * so one workload ran at one of two costs from one start to the next (BENCHMARKS.md, "Runs of the
 * worker, v2 and grpc sections, 2026-12-06 22:40-23:35 UTC"); without the heuristic none did.
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
