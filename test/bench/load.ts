/**
 * The server sections' load: aiges xtest's closed loop (loader/tools/xtest/loop.ts), `concurrency`
 * workers each issuing one call after another. After a warm-up, it counts the calls that finish
 * inside a fixed window, records their latencies in xtest's HDR histogram and reads the server
 * process's CPU time at both ends of the window (loader/tools/proc.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { treeCpuMicros } from '../../loader/tools/proc.js';
import { LatencyHistogram } from '../../loader/tools/xtest/latency.js';
import { startLoop } from '../../loader/tools/xtest/loop.js';

/** What a load generator drives: one protocol against one running server. */
export interface Target {
  /** One full-content check of a response (run before the load; throws when wrong). */
  check(): Promise<void>;
  /** One call; throws on any error or on a response that does not look right. */
  call(): Promise<void>;
  close(): Promise<void>;
}

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** The server child whose CPU time (its own and its child processes') is measured. */
  serverPid: number;
}

export interface LoadResult {
  calls: number;
  seconds: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Server user+sys CPU over the window divided by the calls in it. */
  cpuMicrosPerCall: number;
  /** Server CPU over the window as a share of one core (100 = one core busy). */
  serverCpuPercent: number;
  /** This (load generator) process's CPU over the window, as a share of one core. */
  clientCpuPercent: number;
}

/** The first failing call stops the load; it is thrown once the window is over. */
export async function runLoad(target: Target, options: LoadOptions): Promise<LoadResult> {
  const latency = new LatencyHistogram();
  let measuring = false;
  let calls = 0;
  const loop = startLoop({ concurrency: options.concurrency }, async () => {
    const t0 = performance.now();
    await target.call();
    if (measuring) {
      calls++;
      latency.record(performance.now() - t0);
    }
  });
  try {
    await sleep(options.warmupMs);
    const cpu0 = treeCpuMicros(options.serverPid);
    const client0 = process.cpuUsage();
    const t0 = performance.now();
    measuring = true;
    await sleep(options.durationMs);
    measuring = false;
    const t1 = performance.now();
    const cpu1 = treeCpuMicros(options.serverPid);
    const client = process.cpuUsage(client0);
    loop.stop();
    await loop.done;

    const seconds = (t1 - t0) / 1000;
    const { p50, p99, max } = latency.summary();
    return {
      calls,
      seconds,
      callsPerSec: calls / seconds,
      // No call finished inside the window: no latency (n/a in the tables).
      p50Ms: p50 ?? Number.NaN,
      p99Ms: p99 ?? Number.NaN,
      maxMs: max ?? Number.NaN,
      cpuMicrosPerCall: calls > 0 ? (cpu1 - cpu0) / calls : Number.NaN,
      serverCpuPercent: ((cpu1 - cpu0) / 1e6 / seconds) * 100,
      clientCpuPercent: ((client.user + client.system) / 1e6 / seconds) * 100,
    };
  } finally {
    // Whichever way out: no call left running, and a failure of the loop never left unhandled.
    loop.stop();
    await loop.done.catch(() => undefined);
    latency.destroy();
  }
}
