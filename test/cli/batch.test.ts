/**
 * `aiges batch` as a user runs it: the built CLI over inputs in a temporary folder, against the
 * plugin in-process, a real `aiges serve` over gRPC and over HTTP; resume after a real kill and
 * after Ctrl-C; failures kept apart in errors.jsonl; the summary's fields.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BatchSummary } from '../../loader/tools/batch/summary.js';
import { BatchCodes } from '../../loader/tools/batch/errors.js';
import { runCli, runToExit } from './serve-process.js';
import { serveDuringSuite } from './serve-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'aiges-batch-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const b64 = (text: string) => Buffer.from(text).toString('base64');
/** One AIGes JSON request line for demo/echo, its text item `text`. */
const echoLine = (id: string | number, text: string, params: Record<string, unknown> = {}) =>
  JSON.stringify({ id, parameter: { echo: params }, payload: { text: { encoding: 'utf8', status: 3, text: b64(text) } } });
const echoJsonl = (name: string, n: number) =>
  file(name, `${Array.from({ length: n }, (_, i) => echoLine(`item-${i}`, `hello ${i}`)).join('\n')}\n`);

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const summaryOf = (stdout: string) => JSON.parse(stdout) as BatchSummary;

describe('aiges batch, in-process', () => {
  it('CSV: columns are inputs; failures go to errors.jsonl, the job goes on', async () => {
    const input = file(
      'iris.csv',
      'id,features\n' + 'setosa-0,"[5.1,3.5,1.4,0.2]"\n' + 'short,"[1,2]"\n' + 'virginica-0,"[6.3,3.3,6.0,2.5]"\n',
    );
    const out = join(dir, 'iris-out');
    const r = await runToExit(['batch', 'demo/iris', '--input', input, '--out', out, '--prediction-path', '0.class', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({
      schemaVersion: 1,
      target: 'in-process demo/iris',
      service: 'iris',
      input: { path: input, kind: 'csv' },
      out,
      concurrency: 4,
      items: { read: 3, skipped: 0, ok: 2, failed: 1 },
      retries: 0,
      stoppedEarly: false,
    });
    expect(s.failures).toEqual([{ code: '10106', count: 1, message: expect.stringContaining('features has 2 values') }]);
    expect(s.latencyMs.count).toBe(2);
    expect(s.latencyMs.p50).toBeGreaterThan(0);
    expect(s.itemsPerS).toBeGreaterThan(0);
    const predictions = lines(join(out, 'predictions.jsonl')).map(({ ms, ...rest }) => rest);
    expect(predictions.sort((a, b) => String(a['id']).localeCompare(String(b['id'])))).toEqual([
      { id: 'setosa-0', prediction: 'setosa' },
      { id: 'virginica-0', prediction: 'virginica' },
    ]);
    expect(lines(join(out, 'errors.jsonl'))).toEqual([
      { id: 'short', code: '10106', message: expect.stringContaining('expected 4'), attempts: 1 },
    ]);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(s);
  });

  it('CSV: a param:<name> column is a param of its row', async () => {
    const input = file('echo.csv', 'id,text,param:delay_ms\nfast,hi,0\nbad,ho,never\n');
    const out = join(dir, 'echo-csv-out');
    const r = await runToExit(['batch', 'demo/echo', '--input', input, '--out', out, '--no-progress']);
    expect(r.code).toBe(1);
    expect(lines(join(out, 'predictions.jsonl'))).toEqual([{ id: 'fast', prediction: 'hi', ms: expect.any(Number) }]);
    expect(lines(join(out, 'errors.jsonl'))).toEqual([
      { id: 'bad', code: '10106', message: expect.stringContaining('delay_ms'), attempts: 1 },
    ]);
  });

  it('JSONL: AIGes JSON requests; a line that is no request fails alone, by line', async () => {
    const input = file(
      'echo.jsonl',
      [
        echoLine('a', 'hello a'),
        'not json',
        echoLine('b', 'hello b', { delay_ms: 'soon' }),
        JSON.stringify({ payload: {} }),
        echoLine(7, 'seven'),
      ].join('\n'),
    );
    const out = join(dir, 'echo-out');
    const r = await runToExit(['batch', 'demo/echo', '--input', input, '--out', out, '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/items {9}5 read: 2 ok, 3 failed, 0 skipped \(done before\)/);
    const predictions = lines(join(out, 'predictions.jsonl'));
    expect(predictions.map((p) => [p['id'], p['prediction']]).sort()).toEqual([
      ['7', 'seven'],
      ['a', 'hello a'],
    ]);
    const errors = lines(join(out, 'errors.jsonl'));
    expect(errors.map((e) => [e['id'], e['code']]).sort()).toEqual([
      ['b', '10106'],
      ['echo.jsonl:2', 'input'],
      ['echo.jsonl:4', 'input'],
    ]);
  });

  it('folder: one request per file, in as --key, outputs as files by input name', async () => {
    const input = join(dir, 'blobs');
    mkdirSync(join(input, 'sub'), { recursive: true });
    writeFileSync(join(input, 'one.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(join(input, 'two.bin'), Buffer.from([4, 5]));
    writeFileSync(join(input, '.hidden'), 'skipped');
    const out = join(dir, 'blobs-out');
    const noKey = await runToExit(['batch', 'demo/echo', '--input', input, '--out', out]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toBe(
      `aiges batch: [${BatchCodes.INVALID_OPTION}] a folder input needs --key: service echo has inputs text, audio, data\n`,
    );
    const r = await runToExit(['batch', 'demo/echo', '--input', input, '--out', out, '--key', 'data', '--output-files', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r.stdout).items).toEqual({ read: 2, skipped: 0, ok: 2, failed: 0 });
    const byId = Object.fromEntries(lines(join(out, 'predictions.jsonl')).map((p) => [p['id'], p]));
    expect(byId['one.bin']).toMatchObject({
      prediction: b64('\x01\x02\x03'),
      prediction_encoding: 'base64',
      files: ['outputs/data/one.bin'],
    });
    expect(readFileSync(join(out, 'outputs/data/two.bin'))).toEqual(Buffer.from([4, 5]));
  });

  it('retries a retryable refusal (10110) with backoff; without retries it is a failure with its code', async () => {
    const input = echoJsonl('capacity.jsonl', 12);
    const env = { AIGES_LIMITS_CAPACITY: '1' };
    const flags = ['--concurrency', '4', '--param', 'delay_ms=5', '--json', '--no-progress'];
    const retried = await runToExit(
      ['batch', 'demo/echo', '--input', input, '--out', join(dir, 'cap-retry'), ...flags, '--retries', '1000', '--backoff-ms', '1'],
      env,
    );
    expect(retried.code, retried.stderr).toBe(0);
    const s = summaryOf(retried.stdout);
    expect(s.items.ok).toBe(12);
    expect(s.retries).toBeGreaterThan(0);
    const out = join(dir, 'cap-none');
    const refused = await runToExit(['batch', 'demo/echo', '--input', input, '--out', out, ...flags, '--retries', '0'], env);
    expect(refused.code).toBe(1);
    const failed = summaryOf(refused.stdout);
    expect(failed.failures[0]?.code).toBe('10110');
    expect(lines(join(out, 'errors.jsonl')).every((e) => e['code'] === '10110' && e['attempts'] === 1)).toBe(true);
    expect(failed.items.ok + failed.items.failed).toBe(12);
  });

  it('fails a second use of an id as duplicate-id, keeping the first', async () => {
    const input = file('dup.jsonl', [echoLine('x', 'first'), echoLine('x', 'second')].join('\n'));
    const out = join(dir, 'dup-out');
    const r = await runToExit(['batch', 'demo/echo', '--input', input, '--out', out, '--concurrency', '1']);
    expect(r.code).toBe(1);
    expect(lines(join(out, 'predictions.jsonl')).map((p) => p['prediction'])).toEqual(['first']);
    expect(lines(join(out, 'errors.jsonl'))).toEqual([{ id: 'x', code: 'duplicate-id', message: expect.any(String), attempts: 0 }]);
  });

  it('refuses what it cannot run, exit 2', async () => {
    const cases: [string[], string][] = [
      [['--input', join(dir, 'absent.jsonl')], BatchCodes.INPUT_UNREADABLE],
      [['--input', file('x.txt', 'x')], BatchCodes.INPUT_UNREADABLE],
      [['--input', echoJsonl('ok.jsonl', 1), '--concurrency', '0'], BatchCodes.INVALID_OPTION],
      [['--input', echoJsonl('ok.jsonl', 1), '--prediction-path', 'a..b'], BatchCodes.INVALID_OPTION],
    ];
    const swapped = await runToExit(['batch', 'echo', '127.0.0.1:5090', '--input', echoJsonl('ok.jsonl', 1), '--out', join(dir, 'never')]);
    expect(swapped.stderr).toBe(
      `aiges batch: [${BatchCodes.INVALID_OPTION}] the target comes first, then the service: aiges batch 127.0.0.1:5090 echo\n`,
    );
    for (const [flags, code] of cases) {
      const r = await runToExit(['batch', 'demo/echo', '--out', join(dir, 'never'), ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toContain(`aiges batch: [${code}] `);
    }
    const load = await runToExit([
      'batch',
      'test/fixtures/plugins/throws-init.ts',
      '--input',
      echoJsonl('ok.jsonl', 1),
      '--out',
      join(dir, 'never'),
    ]);
    expect(load.code).toBe(2);
    expect(load.stderr).toContain(`[${BatchCodes.LOAD}] plugin failed to load`);
  });
});

describe('aiges batch against a running loader', () => {
  const serve = serveDuringSuite(['demo/echo']);

  it.each([
    ['gRPC', () => `127.0.0.1:${serve.current.grpcPort}`, 'grpc 127.0.0.1:'],
    ['HTTP', () => `http://127.0.0.1:${serve.current.httpPort}`, 'http http://127.0.0.1:'],
  ])('over %s: the same predictions as in-process', async (_name, target, describe) => {
    const input = echoJsonl('remote.jsonl', 20);
    const out = join(dir, `remote-${_name}`);
    const r = await runToExit(['batch', target(), 'echo', '--input', input, '--out', out, '--json', '--prediction-key', 'text']);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s.target.startsWith(describe)).toBe(true);
    expect(s.items).toEqual({ read: 20, skipped: 0, ok: 20, failed: 0 });
    const got = lines(join(out, 'predictions.jsonl'));
    expect(got.map((p) => p['prediction']).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `hello ${i}`).sort());
  });

  it('folder over gRPC: the key defaults to the schema (read by Metadata) when there is one input; here it must be named', async () => {
    const input = join(dir, 'texts');
    mkdirSync(input, { recursive: true });
    writeFileSync(join(input, 'a.txt'), 'alpha');
    const r = await runToExit([
      'batch',
      `127.0.0.1:${serve.current.grpcPort}`,
      'echo',
      '--input',
      input,
      '--out',
      join(dir, 'texts-out'),
      '--key',
      'text',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(join(dir, 'texts-out', 'predictions.jsonl'))).toEqual([{ id: 'a.txt', prediction: 'alpha', ms: expect.any(Number) }]);
  });
});

describe('aiges batch resumes', () => {
  /** Resolves once predictions.jsonl holds at least `n` lines (checked as the child writes its progress). */
  async function waitForLines(cli: ReturnType<typeof runCli>, path: string, n: number): Promise<void> {
    for (;;) {
      let count = 0;
      try {
        count = readFileSync(path, 'utf8').split('\n').length - 1;
      } catch {
        // not created yet
      }
      if (count >= n) return;
      const exited = await Promise.race([cli.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 50))]);
      if (exited) throw new Error(`aiges batch ended before ${n} lines: ${cli.stderr()}`);
    }
  }

  const allOnce = (path: string, n: number) => {
    const ids = lines(path).map((p) => p['id']);
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
  };

  it('after a real kill (SIGKILL) of the child: the rerun skips what is done, every id ends up exactly once', async () => {
    const n = 300;
    const input = echoJsonl('kill.jsonl', n);
    const out = join(dir, 'kill-out');
    const args = ['batch', 'demo/echo', '--input', input, '--out', out, '--param', 'delay_ms=10', '--concurrency', '4', '--no-progress'];
    const first = runCli(args);
    await waitForLines(first, join(out, 'predictions.jsonl'), 20);
    first.proc.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const doneBefore = lines(join(out, 'predictions.jsonl')).length;
    expect(doneBefore).toBeLessThan(n);
    // A kill can cut the line being written: the rerun drops such a tail and redoes its item.
    appendFileSync(join(out, 'predictions.jsonl'), '{"id":"item-299","predic');
    const rerun = await runToExit([...args, '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const s = summaryOf(rerun.stdout);
    expect(s.items.skipped).toBe(doneBefore);
    expect(s.items.ok).toBe(n - doneBefore);
    allOnce(join(out, 'predictions.jsonl'), n);
  });

  it('after Ctrl-C: in-flight calls finish and are written, the summary says stopped early, exit 130', async () => {
    const n = 300;
    const input = echoJsonl('sigint.jsonl', n);
    const out = join(dir, 'sigint-out');
    const args = [
      'batch',
      'demo/echo',
      '--input',
      input,
      '--out',
      out,
      '--param',
      'delay_ms=10',
      '--concurrency',
      '4',
      '--no-progress',
      '--json',
    ];
    const first = runCli(args);
    let stdout = '';
    first.proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    await waitForLines(first, join(out, 'predictions.jsonl'), 20);
    first.proc.kill('SIGINT');
    expect((await first.exited).code).toBe(130);
    const s = summaryOf(stdout.slice(stdout.indexOf('{')));
    expect(s.stoppedEarly).toBe(true);
    expect(s.items.failed).toBe(0);
    expect(lines(join(out, 'predictions.jsonl'))).toHaveLength(s.items.ok);
    const rerun = await runToExit(args);
    expect(rerun.code).toBe(0);
    expect(summaryOf(rerun.stdout).items).toEqual({ read: n, skipped: s.items.ok, ok: n - s.items.ok, failed: 0 });
    allOnce(join(out, 'predictions.jsonl'), n);
  });
});
