/**
 * Plans the build of a business image from a plugin project folder:
 * - a project with its own Dockerfile is built as it is (context = the project folder);
 * - otherwise a temporary context is made: a copy of the project without development artefacts
 *   (.git, node_modules, tests, logs: dockerfile.ts `isLeftOut`), the generated
 *   contract Dockerfile, and an aiges.toml naming the folder as the plugin when the project has
 *   none (a TS project whose folder holds wrapper.ts / index.ts / a package.json entry).
 * Either way, a relative `[plugin] path` in aiges.toml must stay inside the project (the image holds
 * only the project) and exist (a native library is built on the host before the image).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from '../../config/load.js';
import { resolveTarget } from '../../config/target.js';
import { locatePlugin } from '../../plugin/repository.js';
import { businessDockerfile, DEFAULT_AIGES_TOML, DOCKERIGNORE, isLeftOut, type Variant } from './dockerfile.js';
import { ImageCodes, imageError } from './errors.js';

export interface BusinessPlan {
  context: string;
  dockerfile: string;
  /** Files written for this build (shown to the user): "Dockerfile", "aiges.toml". */
  generated: string[];
  /** Removes the temporary context, if one was made. */
  cleanup(): void;
}

export function planBusinessBuild(projectDir: string, version: string, variant: Variant = 'cpu'): BusinessPlan {
  const project = resolve(projectDir);
  if (!existsSync(project) || !statSync(project).isDirectory()) {
    throw imageError(ImageCodes.NO_PROJECT, `plugin project ${project} is not a folder`);
  }
  // The project is resolved as `aiges serve` resolves a folder: its own aiges.toml, else the folder is the plugin.
  let toml: string | undefined;
  try {
    toml = resolveTarget(project).config;
  } catch (err) {
    if (err instanceof ConfigError) throw imageError(ImageCodes.BAD_CONFIG, err.message);
    throw err;
  }
  if (toml !== undefined) checkPluginPath(project, toml);

  const own = join(project, 'Dockerfile');
  if (existsSync(own)) return { context: project, dockerfile: own, generated: [], cleanup: () => undefined };

  const generated = ['Dockerfile'];
  if (toml === undefined) {
    try {
      locatePlugin(project);
    } catch (err) {
      throw imageError(
        ImageCodes.NO_PLUGIN,
        `${project} has no aiges.toml, and the folder is no plugin by itself (${(err as Error).message}); add an aiges.toml with [plugin] path`,
      );
    }
    generated.push('aiges.toml');
  }
  const context = mkdtempSync(join(tmpdir(), 'aiges-image-'));
  chmodSync(context, 0o755);
  try {
    cpSync(project, context, { recursive: true, filter: (src) => !isLeftOut(relative(project, src)) });
    writeFileSync(join(context, 'Dockerfile'), businessDockerfile(version, variant));
    const ignore = join(context, '.dockerignore');
    writeFileSync(ignore, (existsSync(ignore) ? `${readFileSync(ignore, 'utf8')}\n` : '') + DOCKERIGNORE);
    if (generated.includes('aiges.toml')) writeFileSync(join(context, 'aiges.toml'), DEFAULT_AIGES_TOML);
  } catch (err) {
    rmSync(context, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    dockerfile: join(context, 'Dockerfile'),
    generated,
    cleanup: () => rmSync(context, { recursive: true, force: true }),
  };
}

/** A relative plugin path resolves against the TOML's folder (as `aiges serve` does). */
function checkPluginPath(project: string, toml: string): void {
  // Read raw: the config loader would already have made the path absolute.
  let tree: Record<string, unknown>;
  try {
    tree = parseToml(readFileSync(toml, 'utf8'));
  } catch (err) {
    throw imageError(ImageCodes.BAD_CONFIG, `${toml} is not valid TOML: ${(err as Error).message}`);
  }
  const path = (tree['plugin'] as Record<string, unknown> | undefined)?.['path'];
  if (typeof path !== 'string' || isAbsolute(path)) return; // absolute: a path inside the image
  const target = resolve(project, path);
  const rel = relative(project, target);
  if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) {
    throw imageError(
      ImageCodes.PATH_OUTSIDE,
      `${toml}: [plugin] path "${path}" lies outside the project, so the image would not hold it; copy it into the project and name it relative to aiges.toml`,
    );
  }
  if (!existsSync(target)) {
    throw imageError(
      ImageCodes.PATH_MISSING,
      `${toml}: [plugin] path "${path}" does not exist; build the plugin on the host first (e.g. npm run build or cmake --build build)`,
    );
  }
}
