/**
 * Once before every test file: `npx aiges` ready in this checkout. npm 11 runs the project's own
 * bin by installing the project into its npx cache (~/.npm/_npx/<hash of the path>) on first use.
 * Several test files run `npx aiges` at once and some kill it, and an install cut short leaves
 * that folder without its package.json, which fails every later `npx aiges` in this checkout
 * with ENOENT. So: install it here, alone, first; and if an earlier run left it broken, remove
 * the folder npm names and install again.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BROKEN = /ENOENT[^\n]*?(\/[^\s'"]*\/_npx\/[0-9a-f]{16})\/package\.json/;

async function npxVersion(): Promise<void> {
  await promisify(execFile)('npx', ['--yes', 'aiges', '--version'], { cwd: ROOT, timeout: 120_000 });
}

export default async function setup(): Promise<void> {
  try {
    await npxVersion();
  } catch (err) {
    const broken = BROKEN.exec(String((err as { stderr?: string }).stderr ?? ''));
    if (broken === null) throw new Error(`npx aiges --version failed in ${ROOT} (run npm run build first)`, { cause: err });
    rmSync(broken[1] as string, { recursive: true, force: true });
    await npxVersion();
  }
}
