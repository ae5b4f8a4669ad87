/**
 * The console's page and assets, built by the project's build (`npm run build` bundles
 * loader/tools/console/web/ with esbuild into dist/console/: web/build.mjs) and read once at start.
 * Nothing is fetched at run time: the UI library (preact + htm), the chart library (uPlot) and the
 * diff library (jsdiff) are in the bundle.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { installRoot } from '../../lib/install-root.js';
import { ConsoleCodes, consoleError } from './errors.js';

export interface ConsoleAssets {
  index: string;
  files: Map<string, { type: string; body: Buffer }>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export function consoleAssetsDir(): string {
  return join(installRoot().dir, 'dist', 'console');
}

export function loadConsoleAssets(dir = consoleAssetsDir()): ConsoleAssets {
  if (!existsSync(join(dir, 'index.html'))) {
    throw consoleError(ConsoleCodes.BAD_ARGUMENT, `the console's page is not built (no ${join(dir, 'index.html')}): run \`npm run build\``);
  }
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) files.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  return { index: readFileSync(join(dir, 'index.html'), 'utf8'), files };
}
