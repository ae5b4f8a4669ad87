/**
 * Bounds a promise by a timeout: settles like `work`, or rejects with `onTimeout()`'s error when
 * `ms` pass first. The timer is cleared either way, and a rejection of `work` after the timeout is
 * handled (dropped), never an unhandled rejection. `work` itself is not stopped: whoever starts it
 * must make sure an abandoned one cannot do harm (e.g. abort a signal in `onTimeout`).
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
