/**
 * Which image builder runs a build: docker when a daemon answers (`docker info` succeeds),
 * else buildah (daemonless, rootful or rootless), else a clear error naming how to get one.
 *
 * NOTE: the probes run the real tools; `env` (PATH above all) decides which binaries are found,
 * so callers and tests can point detection at a particular set of tools.
 */
import { spawnSync } from 'node:child_process';
import { ImageCodes, imageError } from './errors.js';

export type BuilderName = 'docker' | 'buildah';
export type BuilderChoice = BuilderName | 'auto';

export const INSTALL_BUILDAH = 'apt-get install -y buildah';

export interface Probe {
  ok: boolean;
  /** First line of what the tool said when it failed (or that it is not installed). */
  detail: string;
}

function probe(cmd: string, args: string[], env: NodeJS.ProcessEnv): Probe {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error !== undefined) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, detail: missing ? `${cmd} is not installed` : r.error.message };
  }
  const said = `${r.stderr}\n${r.stdout}`.split('\n').find((l) => l.trim() !== '') ?? '';
  return { ok: r.status === 0, detail: r.status === 0 ? '' : said.trim() || `${cmd} exited ${r.status}` };
}

/** Whether a docker daemon answers. */
export function probeDocker(env: NodeJS.ProcessEnv = process.env): Probe {
  return probe('docker', ['info', '--format', '{{.ServerVersion}}'], env);
}

/** Whether buildah is installed and runs. */
export function probeBuildah(env: NodeJS.ProcessEnv = process.env): Probe {
  return probe('buildah', ['--version'], env);
}

/** Resolves `auto` (or checks an explicit choice) to a builder that can run, or throws IMAGE_NO_BUILDER. */
export function detectBuilder(choice: BuilderChoice, env: NodeJS.ProcessEnv = process.env): BuilderName {
  if (choice === 'docker') {
    const docker = probeDocker(env);
    if (docker.ok) return 'docker';
    throw imageError(
      ImageCodes.NO_BUILDER,
      `--builder docker: no docker daemon answers (${docker.detail}); start dockerd, or use --builder buildah`,
    );
  }
  const buildah = (): Probe => probeBuildah(env);
  if (choice === 'buildah') {
    const b = buildah();
    if (b.ok) return 'buildah';
    throw imageError(ImageCodes.NO_BUILDER, `--builder buildah: ${b.detail}; install it: ${INSTALL_BUILDAH}`);
  }
  const docker = probeDocker(env);
  if (docker.ok) return 'docker';
  const b = buildah();
  if (b.ok) return 'buildah';
  throw imageError(
    ImageCodes.NO_BUILDER,
    `no image builder: docker has no daemon (${docker.detail}) and buildah cannot run (${b.detail}); ` +
      `install buildah (${INSTALL_BUILDAH}) or start a docker daemon`,
  );
}
