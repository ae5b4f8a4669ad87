/**
 * Whether the Flask baselines of the HTTP section can run: bare-flask.py needs Debian's
 * python3-flask under /usr/bin/python3, and its gunicorn mode Debian's gunicorn. When one is
 * missing, the section prints the line this returns instead of those rows (never a silent skip).
 */
import { spawnSync } from 'node:child_process';
import { SYSTEM_PYTHON } from './servers.js';

export const FLASK_INSTALL = 'apt-get install -y python3-flask';
export const GUNICORN_INSTALL = 'apt-get install -y gunicorn';

/** undefined when `kind` can run here; otherwise what is missing and the command that installs it. */
export function pythonBaselineMissing(kind: 'flask' | 'gunicorn'): string | undefined {
  const modules = kind === 'flask' ? ['flask'] : ['flask', 'gunicorn'];
  for (const module of modules) {
    const r = spawnSync(SYSTEM_PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
    if (r.status !== 0) {
      const install = module === 'flask' ? FLASK_INSTALL : GUNICORN_INSTALL;
      return `${SYSTEM_PYTHON} cannot import ${module}: run \`${install}\` for the ${kind} rows`;
    }
  }
  return undefined;
}
