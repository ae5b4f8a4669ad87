/**
 * docs/batch.md as written: its iris example block runs line by line (into a temporary folder
 * instead of /tmp/iris-eval) and the last line prints the text block below it; its flag tables name
 * every flag of `aiges batch --help` and `aiges eval --help`. The `npm run demo:iris:eval` blocks of
 * README.md and demo/iris/README.md run as written too (into demo/iris/eval/, ignored by git).
 * Its "Through polaris" block runs as written against a real etcd (its endpoint, the balancer's
 * port and the output folder changed): two loaders and a balancer in the background, then the job.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { batchCommand } from '../../loader/cli/batch.js';
import { evalCommand } from '../../loader/cli/eval.js';
import { CLI, ROOT } from '../cli/serve-process.js';
import { freePort, TestEtcd } from '../polaris/etcd.js';
import { background, stopAllAndWait } from './background.js';

const doc = readFileSync(join(ROOT, 'docs/batch.md'), 'utf8');
const example = doc.slice(doc.indexOf('\n## Example'), doc.indexOf('\n## ', doc.indexOf('\n## Example') + 1));
const shBlock = /```sh\n([\s\S]*?)```/.exec(example)?.[1] ?? '';
const textBlock = /```text\n([\s\S]*?)```/.exec(example)?.[1] ?? '';
const run = promisify(execFile);
const polarisSection = doc.slice(doc.indexOf('\n### Through polaris'), doc.indexOf('\n### Input'));
const polarisBlock = /```sh\n([\s\S]*?)```/.exec(polarisSection)?.[1] ?? '';

let etcd: TestEtcd | undefined;
afterAll(async () => {
  await stopAllAndWait();
  await etcd?.stop();
}, 30_000);

describe('docs/batch.md', () => {
  it('runs the iris example as written: held-out split → aiges batch in-process → aiges eval passes its threshold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiges-batch-doc-'));
    const lines = shBlock.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(4);
    let stdout = '';
    for (const line of lines) {
      const r = await run('sh', ['-c', line.replaceAll('/tmp/iris-eval', dir)], { cwd: ROOT, timeout: 120_000 });
      stdout = r.stdout;
    }
    expect(stdout.replaceAll(dir, '/tmp/iris-eval')).toBe(textBlock);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<table class="cm">');
  }, 300_000);

  it('README.md and demo/iris/README.md: npm run demo:iris:eval runs and passes its threshold', async () => {
    const blocks = ['README.md', 'demo/iris/README.md'].map((f) =>
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/^npm run demo:iris:eval .*$/gm)].map((m) => m[0]),
    );
    expect(blocks.map((b) => b.length)).toEqual([1, 1]);
    const { stdout } = await run('sh', ['-c', blocks[0]?.[0] as string], { cwd: ROOT, timeout: 120_000 });
    expect(stdout).toContain('accuracy          96.67% (29 of 30)');
    expect(stdout).toContain('result            passed');
    expect(readFileSync(join(ROOT, 'demo/iris/eval/report.html'), 'utf8')).toContain('<table class="cm">');
  }, 180_000);

  it('runs the polaris example as written: two loaders behind aiges lb answer every line once', async () => {
    etcd = await TestEtcd.start();
    const port = await freePort();
    const out = mkdtempSync(join(tmpdir(), 'aiges-batch-lb-doc-'));
    const lines = polarisBlock
      .replaceAll('http://127.0.0.1:2379', etcd.endpoint)
      .replaceAll('127.0.0.1:5080', `127.0.0.1:${port}`)
      .replaceAll('/tmp/echo-lb', out)
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(4);
    expect(lines.slice(0, 3).every((l) => l.endsWith(' &'))).toBe(true);
    await background((lines[0] as string).slice(0, -2), /registered in polaris/);
    await background((lines[1] as string).slice(0, -2), /registered in polaris/);
    await background((lines[2] as string).slice(0, -2), /instance admitted[\s\S]*instance admitted/);
    const { stdout } = await run('sh', ['-c', lines[3] as string], { cwd: ROOT, timeout: 60_000 });
    const summary = JSON.parse(stdout) as { items: unknown };
    expect(polarisSection).toContain(`"items": ${JSON.stringify(summary.items).replaceAll(':', ': ').replaceAll(',', ', ')}`);
    const ids = readFileSync(join(out, 'predictions.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    const input = readFileSync(join(ROOT, 'docs/examples/echo-batch.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids.sort()).toEqual(input.sort());
  }, 120_000);

  it('the V2 line example: the line it shows, through tensor-scale, writes the line it shows', async () => {
    const v2 = doc.slice(doc.indexOf('\n### V2 lines'), doc.indexOf('\n### Output folder'));
    const [request, written] = [...v2.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1] as string);
    const flags = /with `(--prediction-path [^`]+)` writes/.exec(v2)?.[1]?.split(' ') ?? [];
    expect(flags).toHaveLength(2);
    const dir = mkdtempSync(join(tmpdir(), 'aiges-batch-v2-doc-'));
    writeFileSync(join(dir, 'in.jsonl'), `${request}\n`);
    const plugin = 'test/fixtures/plugins/tensor-scale.ts';
    await run(process.execPath, [CLI, 'batch', plugin, '--input', join(dir, 'in.jsonl'), '--out', join(dir, 'out'), ...flags], {
      cwd: ROOT,
      timeout: 60_000,
    });
    const got = JSON.parse(readFileSync(join(dir, 'out', 'predictions.jsonl'), 'utf8')) as { ms: number };
    expect(got).toEqual({ ...(JSON.parse(written as string) as object), ms: got.ms });
  }, 60_000);

  it.each([
    ['aiges batch', batchCommand()],
    ['aiges eval', evalCommand()],
  ])('names every flag of %s --help in its flag table', (_verb, cmd) => {
    const flags = cmd.options.filter((o) => !o.hidden).map((o) => o.long as string);
    expect(flags.length).toBeGreaterThan(5);
    for (const flag of flags) expect(doc, flag).toMatch(new RegExp(`\`(-\\w, )?${flag}[ \`,]`));
  });
});
