/**
 * The command line of one image build, for docker or buildah. Pure: what runs is decided here,
 * how it runs is run.ts.
 */
import type { BuilderName } from './builder.js';
import { ImageCodes, imageError } from './errors.js';

export interface BuildSpec {
  /** The build context folder. */
  context: string;
  /** The Dockerfile (a path; it need not lie inside the context). */
  dockerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
}

/**
 * buildah's storage and isolation. Defaults suit a machine without a daemon, root or not:
 * vfs (no overlay mounts needed) and chroot isolation (no runtime such as runc needed).
 */
export interface BuildahSettings {
  /** `--root`: where images and layers are stored (default: buildah's own, /var/lib/containers/storage). */
  root?: string;
  /** `--runroot`: buildah's state folder. */
  runroot?: string;
  storageDriver: string;
  isolation: 'chroot' | 'oci' | 'rootless';
}

export const DEFAULT_BUILDAH: BuildahSettings = { storageDriver: 'vfs', isolation: 'chroot' };

export interface Command {
  cmd: string;
  args: string[];
}

/** buildah's global storage options (also used by `buildah from/run/inspect` on the same store). */
export function buildahGlobalArgs(s: BuildahSettings): string[] {
  return [
    ...(s.root === undefined ? [] : ['--root', s.root]),
    ...(s.runroot === undefined ? [] : ['--runroot', s.runroot]),
    '--storage-driver',
    s.storageDriver,
  ];
}

/** "KEY=value" → [KEY, value]; a bad shape is IMAGE_BAD_ARGUMENT. */
export function parseBuildArg(spec: string): [string, string] {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(spec);
  if (m === null) throw imageError(ImageCodes.BAD_ARGUMENT, `--build-arg expects NAME=value, got "${spec}"`);
  return [m[1] as string, m[2] as string];
}

export function buildCommand(builder: BuilderName, spec: BuildSpec, buildah: BuildahSettings = DEFAULT_BUILDAH): Command {
  const common = [
    '-f',
    spec.dockerfile,
    '-t',
    spec.tag,
    ...Object.entries(spec.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
  ];
  if (builder === 'docker') return { cmd: 'docker', args: ['build', ...common, spec.context] };
  return {
    cmd: 'buildah',
    args: [
      ...buildahGlobalArgs(buildah),
      'bud',
      '--isolation',
      buildah.isolation,
      // docker format: OCI image configs have no HEALTHCHECK, and the base images declare one.
      '--format',
      'docker',
      // Use a local image when there is one (offline roots); pull only what is missing.
      '--pull=false',
      ...common,
      spec.context,
    ],
  };
}
