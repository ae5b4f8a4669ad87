/**
 * Measurement helpers for the benchmark: an HDR latency histogram, and the CPU time and memory of
 * a server child process, read from /proc so that any server (ours, a bare Node one, Flask) is
 * measured the same way without its cooperation.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/** The parent pid of every process now running. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Field 4 (ppid) is the second after comm.
    parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  return parents;
}

/**
 * processCpuMicros of `pid` plus every descendant now alive: gunicorn's master and its workers.
 * For a single-process server it equals processCpuMicros(pid).
 */
export function treeCpuMicros(pid: number): number {
  const parents = parentPids();
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [child, parent] of parents) {
      if (tree.has(parent) && !tree.has(child)) {
        tree.add(child);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const p of tree) {
    try {
      total += processCpuMicros(p);
    } catch (err) {
      if (p === pid) throw err; // a worker that exited meanwhile is left out
    }
  }
  return total;
}

/** Resident memory of a process now (VmRSS) and at its peak so far (VmHWM), in KiB. */
export function processMemoryKiB(pid: number): { rssKiB: number; peakKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (m === null) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

/** Fails early, with the reason, where CPU time cannot be read (not Linux, no getconf). */
export function checkCpuSampling(): void {
  processCpuMicros(process.pid);
}
