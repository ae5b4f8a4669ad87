/** A real `aiges serve` child process for the length of one test suite (vitest hooks). */
import { afterAll, beforeAll } from 'vitest';
import { startServe } from './serve-process.js';

export type Served = Awaited<ReturnType<typeof startServe>>;

/**
 * `aiges serve <args>` for the tests of the calling suite: started before them (vitest
 * beforeAll), ended after them; the running one is `.current` inside a test.
 */
export function serveDuringSuite(args: string[], env?: Record<string, string>): { current: Served } {
  const handle = {} as { current: Served };
  beforeAll(async () => {
    handle.current = await startServe(args, env);
  });
  afterAll(async () => {
    handle.current.proc.kill('SIGTERM');
    await handle.current.exited;
  });
  return handle;
}
