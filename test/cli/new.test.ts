/**
 * `aiges new` as a real child process, then the scaffolded TS project used exactly as its README
 * says, with no edits: its own test passes (`npm test`, Node's runner, no vitest), `aiges check`
 * passes its samples, and `aiges serve` serves it to real once and session calls.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToExit, startServe } from './serve-process.js';

const run = promisify(execFile);
const parent = mkdtempSync(join(tmpdir(), 'aiges-new-'));
const project = join(parent, 'word-count');
afterAll(() => rmSync(parent, { recursive: true, force: true }));

describe('aiges new (ts)', () => {
  beforeAll(async () => {
    const r = await runToExit(['new', 'word-count', '--dir', parent]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('created ts plugin project');
  });

  it('writes the project files, a Dockerfile FROM the base image with no RUN step', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('word-count');
    const dockerfile = readFileSync(join(project, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG AIGES_BASE=aiges-ts\/base:\d+\.\d+\.\d+-cpu$/m);
    expect(dockerfile).toMatch(/^FROM \$\{AIGES_BASE\}$/m);
    expect(dockerfile).toMatch(/^COPY --chown=10001:10001 \. \/home\/aiges\/plugin\/$/m);
    expect(dockerfile).not.toMatch(/^RUN /m);
    expect(readFileSync(join(project, '.dockerignore'), 'utf8')).toMatch(/^node_modules$/m);
  });

  it("passes its own test with npm test (Node's test runner)", async () => {
    const { stdout } = await run('npm', ['test'], { cwd: project });
    expect(stdout).toMatch(/^# pass 4$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  });

  it('passes aiges check on its samples (once and session)', async () => {
    const r = await runToExit(['check', project]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PASS {2}stream the file in 7-byte frames \(session/);
    expect(r.stdout).toContain('4 passed, 0 failed');
  });

  it('is served by aiges serve and answers once and session calls', async () => {
    const serve = await startServe([project]);
    try {
      const addr = `127.0.0.1:${serve.grpcPort}`;
      const once = await runToExit(['call', addr, 'word-count', '--text', 'text=hello streaming world']);
      expect(once.code).toBe(0);
      expect(JSON.parse(once.stdout).items[0]).toMatchObject({ key: 'count', text: '3' });
      const session = await runToExit([
        'call',
        addr,
        'word-count',
        '--mode',
        'session',
        '--text',
        'text=hello streaming world',
        '--frame-bytes',
        '4',
      ]);
      expect(session.code).toBe(0);
      const last = JSON.parse(session.stdout.trim().split('\n').at(-1) as string);
      expect(last).toMatchObject({ status: 2, items: [{ key: 'count', text: '3' }] });
    } finally {
      serve.proc.kill('SIGTERM');
      await serve.exited;
    }
  });
});

describe('aiges new refuses', () => {
  // Every rule of the name: test/tools/scaffold/scaffold.test.ts.
  it('a bad name with E_SCAFFOLD_NAME', async () => {
    const r = await runToExit(['new', 'Word_Count', '--dir', parent]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^aiges new: \[E_SCAFFOLD_NAME\] invalid project name "Word_Count": use lowercase letters, digits and single dashes/,
    );
  });

  it('an unknown --lang with E_SCAFFOLD_LANG', async () => {
    const r = await runToExit(['new', 'ok', '--lang', 'rust', '--dir', parent]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('aiges new: [E_SCAFFOLD_LANG] unknown --lang "rust": use one of ts, cpp, cuda\n');
  });

  it('an existing non-empty folder with E_SCAFFOLD_DIR_NOT_EMPTY, leaving it untouched', async () => {
    const taken = join(parent, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'mine.txt'), 'keep');
    const r = await runToExit(['new', 'taken', '--dir', parent]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `aiges new: [E_SCAFFOLD_DIR_NOT_EMPTY] ${taken} already exists and is not an empty folder: choose another name or --dir\n`,
    );
    expect(readFileSync(join(taken, 'mine.txt'), 'utf8')).toBe('keep');
  });
});
