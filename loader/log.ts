/**
 * Logging: one pino logger per loader, JSON lines on stdout. Per-call fields are bound, not
 * looked up: a plugin's call context carries the instance logger with the call's `sid` bound
 * (`ctx.log`, made on first use: dataplane/context.ts), and the loader's own per-call lines name
 * `sid` and `service` themselves.
 *
 * NOTE: not an AsyncLocalStorage scope. On Node 20 a scope makes every promise in the process pay
 * for async hooks (each promise's init hook copies the store), whether or not anything logs, for
 * lines that bound loggers tag just as well (BENCHMARKS.md, loader core).
 */
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino({ level, base: { pid: process.pid } }, destination ?? pino.destination({ dest: 1, sync: false }));
}
