/**
 * `--pid`: a process's CPU and resident memory sampled while the run lasts (loader/tools/proc.ts),
 * summarised for the report: CPU as user+system time of all its threads over each interval, as a
 * share of one core (100 = one core busy); RSS is VmRSS.
 */
import { ToolError } from '../errors.js';
import { ProcSampler, type ProcReading } from '../proc.js';
import { XtestCodes } from './errors.js';

export interface ProcSample {
  /** From the run's start. */
  tMs: number;
  /** CPU over the interval that ends here (null on the first sample). */
  cpuPercent: number | null;
  rssBytes: number;
}

export interface ProcReport {
  pid: number;
  samples: ProcSample[];
  cpuPercent: { mean: number | null; max: number | null };
  rssBytes: { min: number; max: number; last: number };
  /** True when the process went away during the run (sampling stopped there). */
  exited: boolean;
}

/** CPU between two readings as a share of one core, in percent (null without elapsed time). */
function cpuPercent(from: ProcReading, to: ProcReading): number | null {
  if (to.atMs <= from.atMs) return null;
  return ((to.cpuMicros - from.cpuMicros) / 1000 / (to.atMs - from.atMs)) * 100;
}

const tenth = (percent: number | null) => (percent === null ? null : Math.round(percent * 10) / 10);

export function procReport(pid: number, readings: readonly ProcReading[], exited: boolean): ProcReport {
  const samples = readings.map(
    (r, i): ProcSample => ({
      tMs: Math.round(r.atMs),
      cpuPercent: i === 0 ? null : tenth(cpuPercent(readings[i - 1] as ProcReading, r)),
      rssBytes: r.rssBytes,
    }),
  );
  const cpus = samples.flatMap((s) => (s.cpuPercent === null ? [] : [s.cpuPercent]));
  const rss = readings.map((r) => r.rssBytes);
  return {
    pid,
    samples,
    cpuPercent: {
      mean: tenth(cpuPercent(readings[0] as ProcReading, readings[readings.length - 1] as ProcReading)),
      max: cpus.length === 0 ? null : Math.max(...cpus),
    },
    rssBytes: { min: Math.min(...rss), max: Math.max(...rss), last: rss[rss.length - 1] as number },
    exited,
  };
}

/**
 * Starts sampling `pid` every `intervalMs`, times from `since`; throws XTEST_PID_UNREADABLE when
 * the process cannot be read. `stop()` takes a last sample and summarises.
 */
export function sampleProcess(pid: number, since: number, intervalMs: number): { stop(): ProcReport } {
  let sampler: ProcSampler;
  try {
    sampler = new ProcSampler(pid, intervalMs, since);
  } catch (err) {
    throw new ToolError(XtestCodes.PID_UNREADABLE, `cannot sample process ${pid}: ${(err as Error).message}`, { cause: err });
  }
  return {
    stop() {
      const { readings, exited } = sampler.stop();
      return procReport(pid, readings, exited);
    },
  };
}
