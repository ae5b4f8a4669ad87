/**
 * Logging: one pino logger per loader. Per-call fields (request id, service) come from an
 * AsyncLocalStorage scope opened by the data plane, so every line logged during a call,
 * the plugin's included, carries them without threading a logger through every function.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface CallScope {
  sid: string;
  service: string;
}

export const callScope = new AsyncLocalStorage<CallScope>();

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Only the sid: the service is already bound on the loggers that serve one.
      mixin: () => {
        const scope = callScope.getStore();
        return scope === undefined ? {} : { sid: scope.sid };
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
