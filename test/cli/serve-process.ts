/**
 * Runs the built `aiges` CLI as a real child process and follows its JSON log on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}dist/loader/cli/main.js`;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  proc: ChildProcess;
  /** Every stdout line parsed as JSON (non-JSON lines are kept as { raw }). */
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<Exit>;
  /** Resolves with the first log line whose msg is `msg`; rejects if the process exits first. */
  waitForLog(msg: string): Promise<Record<string, unknown>>;
}

export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      entry = { raw: line };
    }
    logs.push(entry);
    for (const w of waiters.filter((w) => w.msg === entry['msg'])) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(entry);
    }
  });
  const exited = once(proc, 'exit').then(([code, signal]) => ({ code, signal }) as Exit);
  return {
    proc,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(msg) {
      const seen = logs.find((l) => l['msg'] === msg);
      if (seen !== undefined) return Promise.resolve(seen);
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ msg, resolve })),
        exited.then((e) => {
          throw new Error(`aiges exited (${e.code ?? e.signal}) before logging "${msg}": ${stderr}`);
        }),
      ]);
    },
  };
}

/** Starts `aiges serve` on free ports and waits until it is ready. */
export async function startServe(args: string[], env?: Record<string, string>) {
  const cli = runCli(['serve', ...args, '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0'], env);
  const listening = await cli.waitForLog('listening');
  await cli.waitForLog('ready');
  return { ...cli, grpcPort: Number(listening['grpc_port']), httpPort: Number(listening['http_port']) };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runToExit(args: string[], env?: Record<string, string>) {
  const cli = runCli(args, env);
  let stdout = '';
  cli.proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  const exit = await cli.exited;
  return { ...exit, stdout, stderr: cli.stderr() };
}
