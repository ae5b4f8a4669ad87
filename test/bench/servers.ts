/**
 * Starts and stops the servers under test as child processes: the loader from the built CLI
 * (dist/), the Node baselines through tsx and the Flask baselines with Debian's python3. Every
 * child is tracked so that run.ts can kill whatever is still running on any exit path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  stop(): Promise<void>;
  /** undefined while it runs; once it has exited (not through stop()), how, with its stderr's tail. */
  death(): string | undefined;
}

/** ours: the loader; bare: grpc-js or fastify; flask / gunicorn: bare-flask.py (HTTP only). */
export type ServerKind = 'ours' | 'bare' | 'flask' | 'gunicorn';
export type Protocol = 'grpc' | 'http';

export interface StartOptions {
  /** Run a Node server under `node --cpu-prof`, writing its profile there on exit. */
  profileDir?: string | undefined;
  /** Extra `aiges serve` arguments (the loader only). */
  loaderArgs?: readonly string[];
  /** The plugin the loader serves (default demo/echo). */
  plugin?: string;
}

/** Debian's python, which has python3-flask (a venv's `python3` on PATH may not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

const children = new Set<ChildProcess>();

/** SIGKILLs every child still running (safe to call from an 'exit' handler). */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

export const LOADER_CLI = 'dist/loader/cli/main.js';

/** Fails with what to run when the loader has not been built. */
export function checkBuilt(root: string): void {
  if (!existsSync(join(root, LOADER_CLI))) {
    throw new Error(`${LOADER_CLI} is missing: run \`npm run build\` first, then \`npm run bench\``);
  }
}

export function startServer(root: string, kind: ServerKind, protocol: Protocol, options: StartOptions = {}): Promise<ServerProcess> {
  const nodeFlags = options.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profileDir];
  if (kind === 'flask' || kind === 'gunicorn') {
    if (protocol !== 'http') throw new Error(`the ${kind} baseline serves HTTP only`);
    return spawnServer(root, kind, SYSTEM_PYTHON, ['test/bench/bare-flask.py', kind === 'flask' ? 'werkzeug' : 'gunicorn'], portLine);
  }
  if (kind === 'bare') {
    const script = protocol === 'grpc' ? 'test/bench/bare-grpc.ts' : 'test/bench/bare-http.ts';
    return spawnServer(root, `bare-${protocol}`, process.execPath, [...nodeFlags, '--import', 'tsx', script], portLine);
  }
  const args = [
    ...nodeFlags,
    LOADER_CLI,
    'serve',
    options.plugin ?? 'demo/echo',
    '--grpc-port',
    '0',
    '--http-port',
    '0',
    '--log-level',
    'info',
    '--capacity',
    '256',
    ...(options.loaderArgs ?? []),
  ];
  let port: number | undefined;
  return spawnServer(root, 'loader', process.execPath, args, (line) => {
    const msg = parseJson(line) as { msg?: unknown; grpc_port?: unknown; http_port?: unknown } | undefined;
    if (msg?.msg === 'listening') {
      const p = protocol === 'grpc' ? msg.grpc_port : msg.http_port;
      if (typeof p === 'number') port = p;
    }
    return msg?.msg === 'ready' ? port : undefined;
  });
}

/** The baselines' ready line: `{"port":N}`. */
function portLine(line: string): number | undefined {
  const port = (parseJson(line) as { port?: unknown } | undefined)?.port;
  return typeof port === 'number' ? port : undefined;
}

/** The loader serving demo/native-echo (once mode, sync wrapperExec) from its own config; gRPC port. */
export function startNativeLoader(root: string): Promise<ServerProcess> {
  const args = [LOADER_CLI, 'serve', '-c', 'demo/native-echo/aiges.toml', '--grpc-port', '0', '--http-port', '0'];
  let port: number | undefined;
  return spawnServer(root, 'loader (native-echo)', process.execPath, args, (line) => {
    const msg = parseJson(line) as { msg?: unknown; grpc_port?: unknown } | undefined;
    if (msg?.msg === 'listening' && typeof msg.grpc_port === 'number') port = msg.grpc_port;
    return msg?.msg === 'ready' ? port : undefined;
  });
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * Spawns `command <args>` and resolves once `ready(line)` returns a port from a stdout line.
 * stdout keeps being read afterwards (and discarded) so that the child never blocks on a full pipe.
 */
function spawnServer(
  root: string,
  name: string,
  command: string,
  args: string[],
  ready: (line: string) => number | undefined,
): Promise<ServerProcess> {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => children.delete(child));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${name} ${why}${stderr === '' ? '' : `; stderr:\n${stderr}`}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.once('error', (err) => fail(`failed to start: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (settled) return;
      const port = ready(line);
      if (port === undefined) return;
      settled = true;
      clearTimeout(timer);
      const death = () =>
        child.exitCode === null && child.signalCode === null
          ? undefined
          : `${name} exited (${child.signalCode ?? child.exitCode}) during the run${stderr === '' ? '' : `; stderr:\n${stderr}`}`;
      resolve({ name, pid: child.pid as number, port, stop, death });
    });
  });
}
