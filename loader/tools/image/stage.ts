/**
 * Stages the build context of a base image from this loader checkout (or installed package), so
 * that docker/Dockerfile.{cpu,cuda} only COPY: no network and no RUN in the image build, and the
 * same Dockerfile works with `docker build` against public images and with buildah offline.
 *
 * The context:
 *   Dockerfile.cpu, Dockerfile.cuda
 *   rootfs/opt/aiges/                 package.json, dist/, production node_modules/, proto/**.proto,
 *                                     native/include/, native/build/Release/{*.node,*.so}
 *   rootfs/usr/local/bin/aiges     -> /opt/aiges/dist/loader/cli/main.js (#!/usr/bin/env node)
 *   home/aiges/node_modules/aiges-ts -> /opt/aiges   (so `import 'aiges-ts'` resolves under /home/aiges)
 *   home/aiges/plugin/                 (empty; the business image fills it)
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageCodes, imageError } from './errors.js';

export const OPT = '/opt/aiges';
export const CLI_ENTRY = `${OPT}/dist/loader/cli/main.js`;

/** The aiges-ts package folder this code runs from (a checkout or node_modules/aiges-ts). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'aiges-ts') return dir;
    if (dirname(dir) === dir) throw imageError(ImageCodes.NOT_BUILT, `no aiges-ts package.json above ${from}`);
  }
}

export function packageVersion(root = packageRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Stages into `out`, which must not exist or be empty; returns `out`. */
export async function stageBaseContext(out: string, root = packageRoot()): Promise<string> {
  for (const [path, hint] of [
    ['dist/loader/cli/main.js', 'npx tsc -p . (or npm run build)'],
    ['native/build/Release/aiges_host.node', 'npm run build:native (or npm run build)'],
  ] as const) {
    if (!existsSync(join(root, path)))
      throw imageError(ImageCodes.NOT_BUILT, `${join(root, path)} is missing: build the loader first: ${hint}`);
  }
  if (existsSync(out) && readdirSync(out).length > 0) throw imageError(ImageCodes.BAD_ARGUMENT, `stage folder ${out} is not empty`);
  const opt = join(out, 'rootfs', OPT);
  dir(out);
  dir(opt);
  for (const file of ['package.json', 'package-lock.json', 'README.md', 'LICENSE']) {
    if (existsSync(join(root, file))) cpSync(join(root, file), join(opt, file));
  }
  cpSync(join(root, 'dist'), join(opt, 'dist'), { recursive: true });
  cpSync(join(root, 'native', 'include'), join(opt, 'native', 'include'), { recursive: true });
  cpSync(join(root, 'proto'), join(opt, 'proto'), {
    recursive: true,
    // Only the .proto sources: the generated TS is compiled into dist/ already.
    filter: (src) => (statSync(src).isDirectory() ? src !== join(root, 'proto', 'gen') : src.endsWith('.proto')),
  });
  const release = join(root, 'native', 'build', 'Release');
  dir(join(opt, 'native', 'build', 'Release'));
  for (const name of readdirSync(release).filter((n) => n.endsWith('.node') || n.endsWith('.so'))) {
    cpSync(join(release, name), join(opt, 'native', 'build', 'Release', name));
  }
  await installProductionDeps(opt);
  chmodSync(join(opt, 'dist', 'loader', 'cli', 'main.js'), 0o755);

  dir(join(out, 'rootfs', 'usr', 'local', 'bin'));
  symlinkSync(CLI_ENTRY, join(out, 'rootfs', 'usr', 'local', 'bin', 'aiges'));
  dir(join(out, 'home', 'aiges', 'plugin'));
  dir(join(out, 'home', 'aiges', 'node_modules'));
  symlinkSync(OPT, join(out, 'home', 'aiges', 'node_modules', 'aiges-ts'));
  for (const variant of ['cpu', 'cuda']) cpSync(join(root, 'docker', `Dockerfile.${variant}`), join(out, `Dockerfile.${variant}`));
  return out;
}

/** Folders get 0755 whatever the umask: they become image folders other users must traverse. */
function dir(path: string): void {
  mkdirSync(path, { recursive: true });
  chmodSync(path, 0o755);
}

/**
 * `npm ci --omit=dev` from the lockfile (`npm install --omit=dev` for an installed package, which
 * ships none). Scripts are not run: the loader's own are build steps already done, and npm blocks
 * dependencies' install scripts anyway. --prefer-offline: the npm cache serves everything it holds,
 * so staging works offline once `npm ci` has run here.
 */
function installProductionDeps(opt: string): Promise<void> {
  const lock = existsSync(join(opt, 'package-lock.json'));
  const args = [
    lock ? 'ci' : 'install',
    '--omit=dev',
    '--ignore-scripts',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd: opt, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', (err) => reject(imageError(ImageCodes.STAGE_FAILED, `cannot run npm: ${err.message}`)));
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            imageError(ImageCodes.STAGE_FAILED, `npm ${args.join(' ')} failed in ${opt} (exit ${code}): ${stderr.trim().slice(-2000)}`),
          ),
    );
  });
}
