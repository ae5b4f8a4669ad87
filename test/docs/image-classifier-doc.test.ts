/**
 * demo/image-classifier/README.md: its "Build, serve and call" block runs as written (the build
 * script, `aiges serve` with the plugin and the repository, `aiges call` with a sample PNG, the
 * model over V2 REST, the plugin over AIGes JSON), each command answering what the comment under
 * it says: the same JSON, numbers within 1e-4 (the comments round the scores). Only the ports change.
 * Its "Batch evaluation" block runs as written too (into a temporary folder instead of
 * /tmp/classifier-eval): the last command prints the text block under it; and `npm run
 * demo:classifier:eval` passes its threshold.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cli/serve-process.js';
import { freePort } from '../polaris/etcd.js';
import { background, stopAll } from './background.js';

const run = promisify(execFile);
const doc = readFileSync(join(ROOT, 'demo/image-classifier/README.md'), 'utf8');
const section = doc.slice(doc.indexOf('\n## Build, serve and call\n'));
const evaluation = doc.slice(doc.indexOf('\n## Batch evaluation\n'), doc.indexOf('\n## Tests\n'));
const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

afterAll(() => stopAll());

/** `actual` equals `expected` with numbers within 1e-4, JSON text inside strings compared as JSON. */
function close(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'number' && typeof expected === 'number') return Math.abs(actual - expected) < 1e-4;
  if (typeof actual === 'string' && typeof expected === 'string') {
    if (actual === expected) return true;
    try {
      return close(JSON.parse(actual), JSON.parse(expected));
    } catch {
      return false;
    }
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    return actual.length === expected.length && actual.every((a, i) => close(a, expected[i]));
  }
  if (typeof actual === 'object' && actual !== null && typeof expected === 'object' && expected !== null) {
    const keys = Object.keys(expected);
    return (
      keys.length === Object.keys(actual).length &&
      keys.every((k) => close((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k]))
    );
  }
  return actual === expected;
}

describe('demo/image-classifier/README.md', () => {
  it('build, serve and call: each command answers what its comment says', async () => {
    const [grpc, http] = [await freePort(), await freePort()];
    const lines = block
      .replaceAll('127.0.0.1:5090', `127.0.0.1:${grpc}`)
      .replaceAll('localhost:8080', `localhost:${http}`)
      .split('\n')
      .filter((l) => l.trim() !== '');
    const [build, serve, ...rest] = lines as [string, string, ...string[]];
    expect(serve.endsWith(' &')).toBe(true);
    await run('sh', ['-c', build], { cwd: ROOT, timeout: 60_000 });
    await background(`${serve.slice(0, -2)} --grpc-port ${grpc} --http-port ${http}`, /"msg":"ready"/);
    let checked = 0;
    for (const [i, command] of rest.entries()) {
      if (command.startsWith('#')) continue;
      const { stdout } = await run('sh', ['-c', command], { cwd: ROOT, timeout: 30_000 });
      const comment = rest[i + 1];
      if (comment?.startsWith('# ') !== true) continue; // a step without an answer (writes a file)
      const [answer, want] = [JSON.parse(stdout), JSON.parse(comment.slice(2))];
      if (!close(answer, want)) expect({ command, answer }).toEqual({ command, answer: want });
      checked++;
    }
    expect(checked).toBe(4);
  }, 120_000);

  it('batch evaluation: aiges batch over the labelled set, then aiges eval, prints what the block says', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiges-classifier-eval-'));
    const lines = (/```sh\n([\s\S]*?)```/.exec(evaluation)?.[1] ?? '').split('\n').filter((l) => l.trim() !== '');
    const text = /```text\n([\s\S]*?)```/.exec(evaluation)?.[1] ?? '';
    expect(lines).toHaveLength(3);
    let stdout = '';
    for (const line of lines)
      stdout = (await run('sh', ['-c', line.replaceAll('/tmp/classifier-eval', dir)], { cwd: ROOT, timeout: 120_000 })).stdout;
    expect(stdout.replaceAll(dir, '/tmp/classifier-eval')).toBe(text);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<table class="cm">');
    const npm = await run('npm', ['run', 'demo:classifier:eval'], { cwd: ROOT, timeout: 120_000 });
    expect(npm.stdout).toContain('result            passed');
  }, 240_000);
});
