/** docs/plugins.md's examples (the harness; calling other services), run as written (from a file in test/docs, as the import path says). */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cli/serve-process.js';

const run = promisify(execFile);
const doc = readFileSync(join(ROOT, 'docs/plugins.md'), 'utf8');
const file = join(ROOT, 'test', 'docs', `.harness-example-${process.pid}.ts`);

afterAll(() => rmSync(file, { force: true }));

/** Runs the ts block after `<!-- marker -->`; it prints nothing when its assertions hold. */
async function runExample(marker: string): Promise<void> {
  const code = new RegExp(`<!-- ${marker} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(doc)?.[1];
  expect(code).toBeDefined();
  // Written in test/docs, two folders below the root, where the doc's `../demo` (from docs/) is
  // `../../demo`; 'aiges-ts/testing' resolves to this package (a package may import itself by name).
  writeFileSync(file, (code as string).replace("'../demo/echo/wrapper.js'", "'../../demo/echo/wrapper.js'"));
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT });
  expect(stderr).toBe('');
  expect(stdout).toBe('');
}

describe('docs/plugins.md: the test harness', () => {
  it('its example runs as written: result shapes, error fields, sessions', async () => {
    await runExample('harness:example');
  });

  it('the pipeline example runs as written: a tensor to a stub model and its FP32 output back; 10200 without it', async () => {
    await runExample('pipelines:example');
  });
});
