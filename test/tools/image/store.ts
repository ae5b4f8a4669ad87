/**
 * A throw-away buildah store for the image tests (vfs, chroot isolation, its own --root and
 * --runroot under a temp folder), and containers run from its images the way the image says:
 * ENTRYPOINT + CMD, with the image's USER, WORKDIR and ENV, on the host network.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const INSTALL = 'apt-get install -y buildah';

/** Fails (never skips) when buildah is missing, naming the command that installs it. */
export function requireBuildah(): void {
  const r = spawnSync('buildah', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the image tests need buildah; install it: ${INSTALL} (${r.error?.message ?? r.stderr})`);
}

export interface ImageConfig {
  User: string;
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  Env: string[];
  Healthcheck?: { Test: string[] };
  ExposedPorts?: Record<string, unknown>;
}

export class Store {
  readonly dir = mkdtempSync(join(tmpdir(), 'aiges-buildah-'));
  readonly root = join(this.dir, 'storage');
  readonly runroot = join(this.dir, 'run');

  /** For `aiges image` and docker/local-root.sh. */
  get flags(): string[] {
    return ['--storage-root', this.root, '--run-root', this.runroot];
  }

  get global(): string[] {
    return ['--root', this.root, '--runroot', this.runroot, '--storage-driver', 'vfs'];
  }

  /**
   * This store as buildah's configuration file, for commands run as written (no --root flags):
   * `CONTAINERS_STORAGE_CONF` in their environment. Its driver stands for the machine's default:
   * a command that does not name vfs reaches another set of images, as it would on that machine.
   */
  confEnv(driver = 'overlay'): { CONTAINERS_STORAGE_CONF: string } {
    const conf = join(this.dir, 'storage.conf');
    writeFileSync(conf, `[storage]\ndriver = "${driver}"\ngraphroot = "${this.root}"\nrunroot = "${this.runroot}"\n`);
    return { CONTAINERS_STORAGE_CONF: conf };
  }

  buildah(args: string[]): string {
    const r = spawnSync('buildah', [...this.global, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`buildah ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  config(image: string): ImageConfig {
    const doc = JSON.parse(this.buildah(['inspect', '--type', 'image', image])) as { Docker: { config: ImageConfig } };
    return doc.Docker.config;
  }

  /** A working container from `image`; its id. */
  container(image: string): string {
    return this.buildah(['from', '--pull=false', image]);
  }

  /** Runs `argv` in the container as the image's USER (buildah run's default), to completion. */
  exec(ctr: string, argv: string[], env: Record<string, string> = {}) {
    return spawnSync(
      'buildah',
      [...this.global, 'run', '--isolation', 'chroot', '--network', 'host', ...envFlags(env), ctr, '--', ...argv],
      {
        encoding: 'utf8',
      },
    );
  }

  /** Starts the image's ENTRYPOINT + CMD in the container, following its JSON log. */
  start(ctr: string, config: ImageConfig, env: Record<string, string>): Running {
    const argv = [...config.Entrypoint, ...config.Cmd];
    const proc = spawn(
      'buildah',
      [...this.global, 'run', '--isolation', 'chroot', '--network', 'host', ...envFlags(env), ctr, '--', ...argv],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return new Running(proc);
  }

  cleanup(): void {
    spawnSync('buildah', [...this.global, 'rm', '--all'], { encoding: 'utf8' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const envFlags = (env: Record<string, string>) => Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);

export class Running {
  readonly logs: Record<string, unknown>[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    proc.stderr?.on('data', (c: Buffer) => (this.stderr += c.toString()));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.logs.push({ raw: line });
      }
    });
    this.exited = once(proc, 'exit').then(([code]) => code as number | null);
  }

  log(msg: string): Record<string, unknown> | undefined {
    return this.logs.find((l) => l['msg'] === msg);
  }

  /**
   * The loader's process inside the container. NOTE: `buildah run` does not forward SIGTERM (it
   * kills its child), while `docker stop` signals the container's PID 1; so the tests signal the
   * loader itself, as docker would.
   */
  loaderPid(): number {
    const children = new Map<number, number[]>();
    const comm = new Map<number, string>();
    for (const pid of readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(ppid, [...(children.get(ppid) ?? []), pid]);
        comm.set(pid, readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
      } catch {
        // the process ended while we looked
      }
    }
    for (const queue = [this.proc.pid as number]; queue.length > 0; ) {
      const pid = queue.shift() as number;
      if (pid !== this.proc.pid && comm.get(pid) === 'node') return pid;
      queue.push(...(children.get(pid) ?? []));
    }
    throw new Error('no node process under buildah run yet');
  }
}

/** A port free right now on 127.0.0.1 (the container binds it on the host network). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}
