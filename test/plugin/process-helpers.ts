/**
 * Shared helpers of the process isolation tests: real loaders serving a plugin from a plugin
 * process, with their log lines captured (and waited on), a gRPC client, and readiness recorded
 * as it changes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { createLoaderClient, type LoaderClient } from '../../loader/tools/client.js';

/** How long a wait for a plugin process may take: starting one runs the loader's TS through tsx (a second or two on a busy machine). */
export const PROCESS_START_MS = 20_000;

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** A loader's log destination that keeps every line and lets a test wait for one. */
export class LogLines extends Writable {
  readonly lines: LogLine[] = [];
  readonly #waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text === '') continue;
      const line = JSON.parse(text) as LogLine;
      this.lines.push(line);
      for (const waiter of [...this.#waiters]) {
        if (!waiter.match(line)) continue;
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
    done();
  }

  /** Lines matching `match` so far. */
  matching(match: (line: LogLine) => boolean): LogLine[] {
    return this.lines.filter(match);
  }

  /** The first line matching `match`, logged already or to come; rejects after `timeoutMs`. */
  wait(match: (line: LogLine) => boolean, timeoutMs = PROCESS_START_MS): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such log line within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }
}

export interface Isolated {
  loader: Loader;
  client: LoaderClient;
  logs: LogLines;
  /** Readiness as it changed ('ready' / 'not ready'), consecutive repeats left out. */
  readiness: string[];
  /** Resolves when the loader is ready (at once if it is); rejects after PROCESS_START_MS. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a real loader serving `plugin` under `[plugin] isolation = "process"`; `overrides` merge per section. */
export async function startIsolated(
  plugin: Record<string, unknown>,
  overrides: Record<string, Record<string, unknown>> = {},
): Promise<Isolated> {
  const logs = new LogLines();
  const sections: Record<string, Record<string, unknown>> = {
    server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
    log: { level: 'info' },
    ...overrides,
    plugin: { isolation: 'process', ...plugin },
  };
  const loader = new Loader(loadConfig({ overrides: sections }), { defaultMetrics: false, logDestination: logs });
  await loader.start();
  const client = createLoaderClient(`127.0.0.1:${loader.grpcPort}`);
  const readiness: string[] = [];
  const waiters: (() => void)[] = [];
  loader.health.onChange(() => {
    const now = loader.health.ready ? 'ready' : 'not ready';
    if (readiness.at(-1) !== now) readiness.push(now);
    if (loader.health.ready) for (const wake of waiters.splice(0)) wake();
  });
  return {
    loader,
    client,
    logs,
    readiness,
    ready: () =>
      loader.health.ready
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`not ready within ${PROCESS_START_MS} ms: ${loader.health.reasons}`)),
              PROCESS_START_MS,
            );
            waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
    async close() {
      client.close();
      await loader.stop();
    },
  };
}

/** A counter's value for `service` in the loader's /metrics text (NaN when absent). */
export async function metric(loader: Loader, name: string, labels: string): Promise<number> {
  const text = await loader.metrics.registry.metrics();
  const escaped = labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return Number(new RegExp(`^${name}\\{${escaped}\\} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
}

/** Whether process `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Plugin processes `parent` (default: this process) started that still run (Linux: from /proc). */
export function pluginProcesses(parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('plugin/process/child.')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Whether process `pid` runs (neither gone nor a zombie waiting to be reaped). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
