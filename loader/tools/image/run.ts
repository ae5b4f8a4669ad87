/**
 * Runs a builder command to completion with its output on ours (builds are long; people watch
 * them). A non-zero exit is IMAGE_BUILD_FAILED naming the command, so it can be rerun by hand.
 */
import { spawn } from 'node:child_process';
import type { Command } from './argv.js';
import { ImageCodes, imageError } from './errors.js';

/** The command as one shell-pasteable line. */
export function commandLine(c: Command): string {
  const quote = (a: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [c.cmd, ...c.args].map(quote).join(' ');
}

/** `hint`, when given, ends the IMAGE_BUILD_FAILED message (what to try instead). */
export function runBuild(c: Command, env: NodeJS.ProcessEnv = process.env, hint?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(c.cmd, c.args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (err) => reject(imageError(ImageCodes.BUILD_FAILED, `cannot run ${c.cmd}: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else {
        const failed = `${c.cmd} failed (${signal ?? `exit ${code}`}): ${commandLine(c)}`;
        reject(imageError(ImageCodes.BUILD_FAILED, hint === undefined ? failed : `${failed}; ${hint}`));
      }
    });
  });
}
