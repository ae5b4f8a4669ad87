/**
 * docs/xtest.md (and README's "Load testing") as written: its examples run against a real `aiges serve demo/echo` (on free ports
 * instead of 5090 and 8080), its flag table names every flag of `aiges xtest --help`, and its JSON
 * example has the report's shape.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runToExit, startServe } from '../../cli/serve-process.js';
import { mismatches, REPORT_SHAPE, SESSION_SHAPE } from './report-shape.js';

const doc = readFileSync(join(ROOT, 'docs/xtest.md'), 'utf8');
const section = (title: string) => doc.slice(doc.indexOf(`\n## ${title}\n`), doc.indexOf('\n## ', doc.indexOf(`\n## ${title}\n`) + 1));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const xtestLines = (text: string) => [...text.matchAll(/^npx aiges xtest (.*)$/gm)].map((m) => m[1] as string);
const readmeSection = readme.slice(
  readme.indexOf('\n## Load testing\n'),
  readme.indexOf('\n## ', readme.indexOf('\n## Load testing\n') + 1),
);
const examples = xtestLines(section('Examples'));
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'aiges-xtest-docs-'));

let serve: Awaited<ReturnType<typeof startServe>>;

beforeAll(async () => {
  serve = await startServe(['demo/echo']);
});

afterAll(async () => {
  serve.proc.kill('SIGTERM');
  await serve.exited;
});

/** An example's arguments with this test's ports, pid and output folder. */
function argsOf(example: string): string[] {
  return example
    .replaceAll('127.0.0.1:5090', `127.0.0.1:${serve.grpcPort}`)
    .replaceAll('http://127.0.0.1:8080', `http://127.0.0.1:${serve.httpPort}`)
    .replace(`"$(pgrep -nf 'aiges serve demo/echo')"`, String(serve.proc.pid))
    .replace('--chart xtest.html', `--chart ${join(dir, 'xtest.html')}`)
    .split(/\s+/);
}

describe('docs/xtest.md', () => {
  it('has the four examples', () => {
    expect(examples).toHaveLength(4);
  });

  it('README\'s "Load testing" shows two of them, or the same without --pid, --json and --chart', () => {
    const lines = xtestLines(readmeSection);
    expect(lines).toHaveLength(2);
    const plain = examples.map((e) => e.replace(/ --pid .*$/, ''));
    for (const line of lines) expect(plain).toContain(line);
  });

  it.each(examples)('runs: npx aiges xtest %s', async (example) => {
    const r = await runToExit(['xtest', ...argsOf(example)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    if (!example.includes('--json')) {
      expect(r.stdout).toMatch(/\n {2}requests {10}(\d+) \(succeeded \1, failed 0\)\n/);
      return;
    }
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(mismatches(report, { ...REPORT_SHAPE, session: SESSION_SHAPE })).toEqual([]);
    expect(report['requests']).toEqual({ total: 40, succeeded: 40, failed: 0 });
    expect(XMLValidator.validate(readFileSync(join(dir, 'xtest.html'), 'utf8').replace('<!DOCTYPE html>\n', ''))).toBe(true);
  });

  it('runs the library example', async () => {
    const code = /## As a library[\s\S]*?```ts\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    // Saved beside this test instead of the repository root, so the import climbs three folders.
    const file = join(ROOT, 'test/tools/xtest', `.doc-example-${process.pid}.ts`);
    writeFileSync(file, code.replace("'./loader/", "'../../../loader/").replace('127.0.0.1:5090', `127.0.0.1:${serve.grpcPort}`));
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT });
      expect(stdout).toMatch(/^\{ total: 2000, succeeded: 2000, failed: 0 \} [0-9.]+ \[\]\n$/);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('documents every flag of --help in its flag table', async () => {
    const help = await runToExit(['xtest', '--help']);
    const flags = [...help.stdout.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1] as string).filter((f) => f !== '--help');
    const table = section('Flags');
    expect(flags.length).toBeGreaterThan(15);
    expect(flags.filter((f) => !table.includes(`| \`${f}`) && !table.includes(`, ${f}`))).toEqual([]);
  });

  it("shows a JSON example of the report's shape", () => {
    const json = /```json\n([\s\S]*?)```/.exec(section('JSON report'))?.[1];
    expect(mismatches(JSON.parse(json ?? 'null'), { ...REPORT_SHAPE, session: SESSION_SHAPE })).toEqual([]);
  });
});
