/**
 * The install root of the running aiges-ts: the folder holding its package.json (the checkout, or
 * /opt/aiges in the base image). Found by walking up from this module, so it is the same from
 * sources (tsx) and from dist/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface InstallRoot {
  dir: string;
  version: string;
}

let cached: InstallRoot | undefined;

export function installRoot(): InstallRoot {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkgPath = join(dir, 'package.json');
    if (existsSync(pkgPath)) {
      const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'aiges-ts') return (cached = { dir, version: pkg.version ?? '0.0.0' });
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the aiges-ts package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
