/**
 * docs/models.md: its shell blocks run as written, and its TOML blocks are valid config. The quick
 * start (a repository made by docs/examples/make-models.ts, `aiges serve --model-repository`, the
 * curl lines, each answering the JSON of the comment under it), then "Polaris and aiges lb" against
 * a real etcd (the loader registers each model as a service; the balancer routes a V2 gRPC call to
 * one by name). Only the repository folder, the etcd endpoint and the ports are changed (a temp
 * folder, a test etcd, free ports).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../loader/config/load.js';
import { parseModelConfig } from '../../loader/models/model-config.js';
import { ROOT } from '../cli/serve-process.js';
import { background, stopAll } from './background.js';
import { freePort, TestEtcd } from '../polaris/etcd.js';

const run = promisify(execFile);
const doc = readFileSync(join(ROOT, 'docs/models.md'), 'utf8');

/** The first block of `lang` after the heading `heading`. */
function block(heading: string, lang: string): string {
  const section = doc.slice(doc.indexOf(`\n## ${heading}\n`));
  return new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section)?.[1] ?? '';
}

const dirs: string[] = [];
let etcd: TestEtcd | undefined;
afterAll(async () => {
  stopAll();
  await etcd?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The block's lines with `models/` in a temp folder. */
function linesOf(text: string): string[] {
  const repo = mkdtempSync(join(tmpdir(), 'aiges-models-doc-'));
  dirs.push(repo);
  return text
    .replaceAll(' models/', ` ${repo}/`)
    .split('\n')
    .filter((l) => l.trim() !== '');
}

describe('docs/models.md', () => {
  it('quick start: the curl lines answer what the block says', async () => {
    const port = await freePort();
    const lines = linesOf(block('Quick start', 'sh')).map((l) => l.replaceAll('8080', String(port)));
    const [make, serve, ...rest] = lines as [string, string, ...string[]];
    expect(serve.endsWith(' &')).toBe(true);
    await run('sh', ['-c', make], { cwd: ROOT, timeout: 60_000 });
    await background(`${serve.slice(0, -2)} --grpc-port 0`, /"msg":"ready"/);
    const pairs = rest.filter((l) => !l.startsWith('#')).map((command) => [command, rest[rest.indexOf(command) + 1] as string]);
    expect(pairs.length).toBe(4);
    for (const [command, expected] of pairs) {
      expect(expected.startsWith('# ')).toBe(true);
      const { stdout } = await run('sh', ['-c', command as string], { cwd: ROOT, timeout: 30_000 });
      expect({ command, answer: JSON.parse(stdout) }).toEqual({ command, answer: JSON.parse((expected as string).slice(2)) });
    }
  }, 90_000);

  it('polaris and aiges lb: the example client prints what the block says', async () => {
    etcd = await TestEtcd.start();
    const lbPort = await freePort();
    const lines = linesOf(block('Polaris and `aiges lb`', 'sh')).map((l) =>
      l.replaceAll('http://127.0.0.1:2379', etcd?.endpoint as string).replaceAll('127.0.0.1:5080', `127.0.0.1:${lbPort}`),
    );
    const commands = lines.filter((l) => !l.startsWith('#'));
    const expected = lines.filter((l) => l.startsWith('# ')).map((l) => l.slice(2));
    expect(commands).toHaveLength(3);
    await run('sh', ['-c', `npx tsx docs/examples/make-models.ts ${commands[0]?.split(' ')[4]}`], { cwd: ROOT, timeout: 60_000 });
    await background(
      `${(commands[0] as string).slice(0, -2)} --grpc-port 0 --http-port 0`,
      /"service":"double".*model registered in polaris/,
    );
    await background((commands[1] as string).slice(0, -2), /instance admitted/);
    const { stdout } = await run('sh', ['-c', commands[2] as string], { cwd: ROOT, timeout: 60_000 });
    expect(stdout.trim().split('\n')).toEqual(expected);
  }, 120_000);

  it('its TOML blocks are valid: a model config.toml and the [repository] section', () => {
    expect(parseModelConfig(parse(block("A model's config.toml", 'toml')), 'config.toml')).toMatchObject({
      inputs: [{ name: 'x', datatype: 'FP32', dims: [3] }],
      max_batch_size: 8,
      version_policy: { latest: 1 },
    });
    const config = loadConfig({ overrides: parse(block('The `[repository]` section', 'toml')) as never });
    expect(config.repository).toEqual({ path: 'models', poll_interval_ms: 0, execution_providers: ['auto'] });
  });
});
