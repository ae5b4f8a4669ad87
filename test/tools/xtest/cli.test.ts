/**
 * `aiges xtest` as a user runs it: the built CLI as a child process against `aiges serve` child
 * processes (echo, and the fixture that fails every Nth call), over gRPC and HTTP.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notCamelCase } from '../../cli/json-case.js';
import { CLI, runToExit, startServe } from '../../cli/serve-process.js';
import { mismatches, REPORT_SHAPE, SESSION_SHAPE } from './report-shape.js';

type Serve = Awaited<ReturnType<typeof startServe>>;
let echo: Serve;
let flaky: Serve;
const dir = mkdtempSync(join(tmpdir(), 'aiges-xtest-cli-'));

beforeAll(async () => {
  [echo, flaky] = await Promise.all([startServe(['demo/echo']), startServe(['test/fixtures/plugins/fails-every-nth.ts'])]);
});

afterAll(async () => {
  for (const s of [echo, flaky]) s.proc.kill('SIGTERM');
  await Promise.all([echo.exited, flaky.exited]);
});

const grpc = (s: Serve) => `127.0.0.1:${s.grpcPort}`;
const http = (s: Serve) => `http://127.0.0.1:${s.httpPort}`;

describe('aiges xtest (CLI)', () => {
  it('--json over gRPC: the documented shape, --pid sampling of the loader, an SVG chart', async () => {
    const chart = join(dir, 'grpc.svg');
    const r = await runToExit([
      'xtest',
      grpc(echo),
      'echo',
      '-c',
      '12',
      '--ramp-up',
      '50ms',
      '-n',
      '60',
      '-t',
      'text=hello',
      '--pid',
      String(echo.proc.pid),
      '--sample-ms',
      '20',
      '--json',
      '--chart',
      chart,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    // The whole shape, so that any rename or removal fails here (and bumps schemaVersion).
    expect(mismatches(report, REPORT_SHAPE)).toEqual([]);
    expect(notCamelCase(report)).toEqual([]);
    expect(report['process'].samples.length).toBeGreaterThanOrEqual(2);
    expect(report['process'].samples[0].cpuPercent).toBeNull();
    expect(report['timeline'].buckets.length).toBeGreaterThan(0);
    expect(report['schemaVersion']).toBe(2);
    expect(report['target']).toEqual({ protocol: 'grpc', address: `127.0.0.1:${echo.grpcPort}`, service: 'echo' });
    expect(report['requests']).toEqual({ total: 60, succeeded: 60, failed: 0 });
    expect(report['process'].pid).toBe(echo.proc.pid);
    expect(report['process'].rssBytes.min).toBeGreaterThan(0);
    const svg = readFileSync(chart, 'utf8');
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('over HTTP against a failing plugin: the exact error distribution, exit 1 (0 with --allow-errors)', async () => {
    const args = (run: string) => [
      'xtest',
      http(flaky),
      'flaky',
      '-c',
      '3',
      '-n',
      '30',
      '-t',
      'text=x',
      '-p',
      `run=${run}`,
      '-p',
      'fail_every=3',
      '-p',
      'reject_every=5',
      '--json',
    ];
    const failing = await runToExit(args(randomUUID()));
    expect(failing.code).toBe(1);
    const report = JSON.parse(failing.stdout) as { requests: unknown; errors: { code: string; count: number }[] };
    expect(mismatches(report, { ...REPORT_SHAPE, process: 'null' })).toEqual([]);
    expect(report.requests).toEqual({ total: 30, succeeded: 16, failed: 14 });
    expect(report.errors.map((e) => [e.code, e.count])).toEqual([
      ['10909', 8],
      ['10107', 6],
    ]);
    const allowed = await runToExit([...args(randomUUID()), '--allow-errors']);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ requests: { failed: 14 } });
  });

  it('sessions over gRPC against a failing plugin: exact distribution, first/last-result latencies in --json', async () => {
    const r = await runToExit([
      'xtest',
      grpc(flaky),
      'flaky',
      '-m',
      'session',
      '-c',
      '4',
      '-n',
      '12',
      '-t',
      'text=abcd',
      '--frame-bytes',
      '2',
      '-p',
      `run=${randomUUID()}`,
      '-p',
      'fail_every=4',
      '-p',
      'reject_every=6',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    expect(mismatches(report, { ...REPORT_SHAPE, session: SESSION_SHAPE, process: 'null' })).toEqual([]);
    expect(report['requests']).toEqual({ total: 12, succeeded: 8, failed: 4 });
    expect(report['errors'].map((e: { code: string; count: number }) => [e.code, e.count])).toEqual([
      ['10107', 2],
      ['10907', 2],
    ]);
    for (const key of ['firstResultMs', 'lastResultMs']) {
      const s = report['session'][key];
      expect(s.count).toBe(8);
      expect(s.min <= s.p50 && s.p50 <= s.p99 && s.p99 <= s.max).toBe(true);
      expect(s.max).toBeLessThanOrEqual(report['latencyMs'].max);
    }
  });

  it('sessions over HTTP with a text report and an HTML chart', async () => {
    const chart = join(dir, 'session.html');
    const r = await runToExit([
      'xtest',
      http(echo),
      'echo',
      '-m',
      'session',
      '-c',
      '2',
      '-n',
      '10',
      '-t',
      'text=abcdefgh',
      '--frame-bytes',
      '3',
      '--interval-ms',
      '1',
      '--chart',
      chart,
    ]);
    expect(r.code).toBe(0);
    // Not a terminal: no progress bar.
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`aiges xtest: echo over http http://127.0.0.1:${echo.httpPort}, session mode, concurrency 2, 10 requests\n`);
    expect(r.stdout).toContain('  requests          10 (succeeded 10, failed 0)\n');
    expect(r.stdout).toMatch(/\n {2}first result ms {3}min [0-9.]+ {2}p50 /);
    expect(r.stdout).toMatch(/\n {2}last result ms {4}min [0-9.]+ {2}p50 /);
    const html = readFileSync(chart, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(XMLValidator.validate(html.slice(html.indexOf('<html')))).toBe(true);
  });

  it('draws a progress bar on stderr when it is a terminal', async () => {
    // util-linux's `script` runs the CLI on a pseudo-terminal (stdout and stderr both go to it).
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error('this test needs `script`: apt-get install bsdutils');
    }
    const command = [process.execPath, CLI, 'xtest', grpc(echo), 'echo', '-n', '200', '-t', 'text=x'].join(' ');
    const out = execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' });
    expect(out).toMatch(/xtest \[[█░]+\] 100% \| 200 calls, 0 failed/);
    expect(out).toContain('requests          200 (succeeded 200, failed 0)');
  });

  it.each<[string, string[], string]>([
    [
      'a target that is no address',
      ['localhost', 'echo', '-t', 'text=x'],
      '[XTEST_INVALID_OPTION] the target must be host:port or grpcs://host:port (gRPC) or',
    ],
    [
      'the service first',
      ['echo', '127.0.0.1:1', '-t', 'text=x'],
      '[XTEST_INVALID_OPTION] the target comes first, then the service: aiges xtest 127.0.0.1:1 echo',
    ],
    ['no service', ['127.0.0.1:1', '-t', 'text=x'], "missing required argument 'service'"],
    [
      'the old --grpc flag',
      ['echo', '--grpc', '127.0.0.1:1'],
      'the target is the first argument, as in aiges call: aiges xtest 127.0.0.1:1 <service>',
    ],
    ['a count and a duration', ['127.0.0.1:1', 'echo', '-n', '5', '-d', '1s'], '[XTEST_INVALID_OPTION] give a request count or a duration'],
    ['a bad number', ['127.0.0.1:1', 'echo', '-c', 'many'], '[XTEST_INVALID_OPTION] --concurrency expects a whole number'],
    ['a bad duration', ['127.0.0.1:1', 'echo', '-d', '10'], '[XTEST_INVALID_OPTION] --duration expects a duration'],
    [
      'an input key given twice',
      ['127.0.0.1:1', 'echo', '-t', 'text=a', '-f', 'text=/etc/hostname'],
      '[XTEST_INVALID_OPTION] input key "text" is given twice (by --text or --file); give each key once',
    ],
    [
      'a missing input',
      ['127.0.0.1:1', 'echo', '-f', 'data=/nonexistent/x.bin'],
      '[XTEST_INPUT_UNREADABLE] input "data": cannot read /nonexistent/x.bin',
    ],
    ['a pid with no process', ['127.0.0.1:1', 'echo', '--pid', '2147483646'], '[XTEST_PID_UNREADABLE] cannot sample process 2147483646'],
    [
      'a chart that is not svg or html',
      ['127.0.0.1:1', 'echo', '--chart', 'out.png'],
      '[XTEST_CHART_UNWRITABLE] --chart needs a .svg or .html',
    ],
    ['an unknown mode', ['127.0.0.1:1', 'echo', '-m', 'stream'], "argument 'stream' is invalid"],
    ['an unknown flag', ['127.0.0.1:1', 'echo', '--bogus'], "unknown option '--bogus'"],
  ])('exits 2 before any call on %s', async (_, args, message) => {
    const r = await runToExit(['xtest', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});
