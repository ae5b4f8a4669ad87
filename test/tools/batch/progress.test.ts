/** The progress of `aiges batch` (loader/tools/batch/progress.ts): a bar on a terminal, nothing drawn into a pipe. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { showProgress } from '../../../loader/tools/batch/progress.js';
import type { BatchJob } from '../../../loader/tools/batch/runner.js';

function stream(tty: boolean) {
  const s = new PassThrough() as PassThrough & {
    isTTY: boolean;
    columns: number;
    cursorTo: () => boolean;
    clearLine: () => boolean;
    moveCursor: () => boolean;
  };
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  Object.assign(s, { isTTY: tty, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { s: s as unknown as NodeJS.WriteStream, text: () => text };
}

const job = { progress: () => ({ done: 30, failed: 2, skipped: 10, elapsedMs: 2000 }) } as unknown as BatchJob;

describe('showProgress', () => {
  it('draws a bar with done/total, failures and rate on a terminal', async () => {
    const { s, text } = stream(true);
    const end = showProgress(job, Promise.resolve(100), s);
    await Promise.resolve();
    end();
    const drawn = text();
    end();
    expect(text()).toBe(drawn);
    expect(text()).toContain('batch [');
    expect(text()).toContain('30/100 | 2 failed | 10.0/s | ETA');
  });

  it('writes no control characters into a pipe, and nothing before its first interval', () => {
    const { s, text } = stream(false);
    showProgress(job, Promise.resolve(100), s)();
    expect(text()).toBe('');
  });
});
