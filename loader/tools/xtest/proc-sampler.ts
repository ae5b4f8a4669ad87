/**
 * `--pid`: samples a process's CPU and resident memory from /proc while the run lasts (Linux),
 * without the process's cooperation: CPU as user+system time of all its threads over each
 * interval, as a share of one core (100 = one core busy); RSS from /proc/<pid>/status (VmRSS).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isToolError, ToolError } from '../errors.js';
import { XtestCodes } from './errors.js';

export interface ProcSample {
  /** From the run's start. */
  t_ms: number;
  /** CPU over the interval that ends here (null on the first sample). */
  cpu_percent: number | null;
  rss_bytes: number;
}

export interface ProcReport {
  pid: number;
  samples: ProcSample[];
  cpu_percent: { mean: number | null; max: number | null };
  rss_bytes: { min: number; max: number; last: number };
  /** True when the process went away during the run (sampling stopped there). */
  exited: boolean;
}

interface Reading {
  atMs: number;
  cpuTicks: number;
  rssBytes: number;
}

let clockTicksPerSecond: number | undefined;

/** The unit of utime/stime in /proc/<pid>/stat (`getconf CLK_TCK`, 100 on common kernels). */
function clockTicks(): number {
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!(clockTicksPerSecond > 0)) throw new ToolError(XtestCodes.PID_UNREADABLE, 'getconf CLK_TCK gave no tick rate');
  return clockTicksPerSecond;
}

function read(pid: number, atMs: number): Reading {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  // fields[11], fields[12]: utime and stime (fields 14 and 15 of proc(5)).
  return { atMs, cpuTicks: Number(fields[11]) + Number(fields[12]), rssBytes: Number(rssKb ?? 0) * 1024 };
}

export class ProcSampler {
  readonly #readings: Reading[] = [];
  #timer: NodeJS.Timeout | undefined;
  #exited = false;

  /** Takes the first sample at once: throws XTEST_PID_UNREADABLE when the process cannot be read. */
  constructor(
    readonly pid: number,
    private readonly since: number,
    intervalMs: number,
  ) {
    try {
      clockTicks();
      this.#readings.push(read(pid, performance.now() - since));
    } catch (err) {
      if (isToolError(err)) throw err;
      throw new ToolError(XtestCodes.PID_UNREADABLE, `cannot sample process ${pid}: ${(err as Error).message}`, { cause: err });
    }
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    if (this.#exited) return;
    try {
      this.#readings.push(read(this.pid, performance.now() - this.since));
    } catch {
      this.#exited = true;
    }
  }

  /** Takes a last sample, stops, and summarises. */
  stop(): ProcReport {
    clearInterval(this.#timer);
    this.#sample();
    const ticks = clockTicks();
    const samples = this.#readings.map((r, i): ProcSample => {
      const prev = this.#readings[i - 1];
      const cpu =
        prev === undefined || r.atMs <= prev.atMs ? null : ((r.cpuTicks - prev.cpuTicks) / ticks / ((r.atMs - prev.atMs) / 1000)) * 100;
      return { t_ms: Math.round(r.atMs), cpu_percent: cpu === null ? null : Math.round(cpu * 10) / 10, rss_bytes: r.rssBytes };
    });
    const first = this.#readings[0] as Reading;
    const last = this.#readings[this.#readings.length - 1] as Reading;
    const cpus = samples.flatMap((s) => (s.cpu_percent === null ? [] : [s.cpu_percent]));
    const span = (last.atMs - first.atMs) / 1000;
    const rss = this.#readings.map((r) => r.rssBytes);
    return {
      pid: this.pid,
      samples,
      cpu_percent: {
        mean: span > 0 ? Math.round(((last.cpuTicks - first.cpuTicks) / ticks / span) * 1000) / 10 : null,
        max: cpus.length === 0 ? null : Math.max(...cpus),
      },
      rss_bytes: { min: Math.min(...rss), max: Math.max(...rss), last: last.rssBytes },
      exited: this.#exited,
    };
  }
}
