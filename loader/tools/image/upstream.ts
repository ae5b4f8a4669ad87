/**
 * The upstream images a base build pulls by default (docker/Dockerfile.<variant>'s ARG defaults),
 * and what to do when they cannot be pulled: offline, with no registry, a base is built from a
 * local root image with --from (docs/images.md, "Without a registry").
 */
import { buildahGlobalArgs, type BuildahSettings } from './argv.js';
import type { Variant } from './dockerfile.js';
import { commandLine } from './run.js';

export const DEFAULT_UPSTREAMS: Readonly<Record<Variant, Readonly<Record<string, string>>>> = {
  cpu: { BASE: 'node:20-bookworm-slim' },
  cuda: { BASE: 'nvidia/cuda:13.0.0-runtime-ubuntu24.04', NODE_IMAGE: 'node:20-bookworm-slim' },
};

/**
 * The hint a failed `aiges image base` adds when it pulled a default upstream from a public
 * registry (a build argument not given); undefined when every upstream was chosen.
 */
export function offlineHint(variant: Variant, buildArgs: Readonly<Record<string, string>>): string | undefined {
  const pulled = Object.entries(DEFAULT_UPSTREAMS[variant]).filter(([arg]) => buildArgs[arg] === undefined);
  if (pulled.length === 0) return undefined;
  const route =
    variant === 'cpu'
      ? 'docker/local-root.sh localhost/node-root:20 && aiges image base --builder buildah --from localhost/node-root:20'
      : 'aiges image base --variant cuda --from <local CUDA runtime image> --node-image <local Node image>';
  return (
    `if pulling ${pulled.map(([, image]) => image).join(' / ')} from the public registry failed ` +
    `(offline, DNS, no registry), build from a local root image instead: ${route} (docs/images.md, "Without a registry")`
  );
}

/**
 * The hint a failed buildah build adds: buildah builds FROM the images of one store (driver, root),
 * and an image saved with other storage options, such as buildah's default driver, is not in it:
 * buildah then tries to pull it (`pinging container registry localhost`, `short-name … did not resolve`).
 */
export function storeHint(buildah: BuildahSettings): string {
  const images = commandLine({ cmd: 'buildah', args: [...buildahGlobalArgs(buildah), 'images'] });
  return (
    `buildah builds FROM the images \`${images}\` lists; one saved by buildah with other storage options ` +
    `(its default driver, another --root) is not among them (docs/images.md, "Without a docker daemon")`
  );
}
