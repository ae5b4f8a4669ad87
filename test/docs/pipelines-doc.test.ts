/** docs/plugins.md's pipeline example ("Calling other services"), run as written. */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cli/serve-process.js';

const run = promisify(execFile);
const doc = readFileSync(join(ROOT, 'docs/plugins.md'), 'utf8');
const file = join(ROOT, 'test', 'docs', `.pipelines-example-${process.pid}.ts`);

afterAll(() => rmSync(file, { force: true }));

describe('docs/plugins.md: calling other services', () => {
  it('its example runs as written: a tensor to a stub model and its FP32 output back; 10200 without it', async () => {
    const code = /<!-- pipelines:example -->\n```ts\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(code).toBeDefined();
    writeFileSync(file, code as string);
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT });
    expect(stderr).toBe('');
    expect(stdout).toBe('');
  });
});
