/** Shell lines of a doc's block that run in the background (`… &`), for the doc tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { ROOT } from '../cli/serve-process.js';

/** Background lines started so far; `stopAll` ends them. */
const children: ChildProcess[] = [];

/** Starts a background line of a block; resolves once its output has a line matching `ready`. */
export function background(line: string, ready: RegExp): Promise<void> {
  const child = spawn('sh', ['-c', line], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const look = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) resolve();
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', (code) => reject(new Error(`"${line}" ended (${code}) before it was ready:\n${out}`)));
  });
}

/** Ends every background line: each runs in a process group of its own (npx, then node), so the whole group. */
export function stopAll(): void {
  for (const c of children.splice(0)) if (c.pid !== undefined && c.exitCode === null) process.kill(-c.pid, 'SIGTERM');
}
