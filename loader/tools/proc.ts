/**
 * A process's CPU time and memory, read from /proc (Linux) without its cooperation, so that any
 * process — the loader, a bare Node server, Flask under gunicorn — is measured the same way.
 * `aiges xtest --pid` and the benchmark both read through here. Readers throw a plain Error when
 * the process is gone or /proc cannot be read; the tool says what that means for it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`: the unit of utime/stime in /proc/<pid>/stat (100 on common kernels). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const n = Number(out);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`getconf CLK_TCK printed "${out}"`);
    ticksPerSecond = n;
  }
  return ticksPerSecond;
}

/**
 * The fields of /proc/<pid>/stat after the command name; [0] is field 3 (state).
 * NOTE: field 2 (comm) may hold spaces and parentheses, so fields are counted after its last ')'.
 */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU time of a process, all its threads (JS, libuv pool, GC), in microseconds. */
export function processCpuMicros(pid: number): number {
  const fields = statFields(pid);
  // utime and stime: fields 14 and 15 of proc(5).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return ((utime + stime) * 1_000_000) / clockTicks();
}

/** The parent pid of every process now running. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 (ppid) is the second after comm.
      parents.set(Number(name), Number(statFields(Number(name))[1]));
    } catch {
      // exited meanwhile
    }
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

/**
 * Resident memory of a process now (VmRSS) and at its peak so far (VmHWM), in bytes. A process
 * that has exited but is not yet reaped (a zombie) has neither: that throws like a gone one.
 */
export function processMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (m === null) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: field('VmRSS'), peakRssBytes: field('VmHWM') };
}

/** One sample: `atMs` on the sampler's clock, the process's CPU time so far and its RSS then. */
export interface ProcReading {
  atMs: number;
  cpuMicros: number;
  rssBytes: number;
}

function readingOf(pid: number, atMs: number): ProcReading {
  return { atMs, cpuMicros: processCpuMicros(pid), rssBytes: processMemory(pid).rssBytes };
}

/**
 * Samples a process every `intervalMs` (a timer that keeps nothing alive) from construction to
 * stop(), times measured from `since` (a performance.now() value). The first reading is taken at
 * once and throws when the process cannot be read; a later failure means the process went away:
 * sampling stops there and `exited` says so.
 */
export class ProcSampler {
  readonly #readings: ProcReading[] = [];
  readonly #timer: NodeJS.Timeout;
  #exited = false;

  constructor(
    readonly pid: number,
    intervalMs: number,
    private readonly since: number = performance.now(),
  ) {
    this.#readings.push(readingOf(pid, performance.now() - since));
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    if (this.#exited) return;
    try {
      this.#readings.push(readingOf(this.pid, performance.now() - this.since));
    } catch {
      this.#exited = true;
    }
  }

  /** Takes a last reading and stops; every reading so far, oldest first (at least one). */
  stop(): { readings: ProcReading[]; exited: boolean } {
    clearInterval(this.#timer);
    this.#sample();
    return { readings: [...this.#readings], exited: this.#exited };
  }
}
