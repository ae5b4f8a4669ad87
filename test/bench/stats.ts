/**
 * Measurement helpers for the benchmark: an HDR latency histogram and the CPU time of a server
 * child process, read from /proc so that any server (ours or a bare one) is measured the same
 * way without its cooperation.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';

/** Latencies in microseconds, 1 µs .. 60 s, 3 significant digits. */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`: the unit of utime/stime in /proc/<pid>/stat. */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const n = Number(out);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`getconf CLK_TCK printed "${out}"`);
    ticksPerSecond = n;
  }
  return ticksPerSecond;
}

/**
 * User + system CPU time of a process, all its threads (JS, libuv pool, GC), in microseconds.
 * NOTE: field 2 (comm) may hold spaces or parentheses, so fields are counted after its last ')'.
 */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return ((utime + stime) * 1_000_000) / clockTicks();
}

/** Fails early, with the reason, where CPU time cannot be read (not Linux, no getconf). */
export function checkCpuSampling(): void {
  processCpuMicros(process.pid);
}
