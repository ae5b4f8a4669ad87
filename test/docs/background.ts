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

/** Whether any process of the group led by `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends every background line, as `stopAll`, and waits until every process of their groups has
 * exited (npx exits at once; the loader it started stops in order, deregistering from polaris), so
 * that what they need to stop cleanly (etcd) is stopped after them. What is still alive after
 * `graceMs` is killed.
 */
export async function stopAllAndWait(graceMs = 10_000): Promise<void> {
  const groups = children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  stopAll();
  await waitForGroups(groups, graceMs);
}

/**
 * Ends the process group led by `pgid` (a child spawned with `detached: true`: a shell and what it
 * started) and waits until every process of it has exited; what is still alive after `graceMs` is
 * killed. A shell's children outlive a signal to the shell alone.
 */
export async function stopGroupAndWait(pgid: number, graceMs = 10_000): Promise<void> {
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGTERM');
  await waitForGroups([pgid], graceMs);
}

async function waitForGroups(groups: readonly number[], graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  // NOTE: the processes are no children of ours (the shell's, npx's), so there is no exit event to wait on: poll their groups.
  while (groups.some(groupAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pgid of groups.filter(groupAlive)) process.kill(-pgid, 'SIGKILL');
}
