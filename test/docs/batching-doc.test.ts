/** docs/plugins.md's dynamic batching example, run as written (from a file in test/docs). */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../loader/config/schema.js';
import { parse as parseToml } from 'smol-toml';
import { ROOT } from '../cli/serve-process.js';

const run = promisify(execFile);
const doc = readFileSync(join(ROOT, 'docs/plugins.md'), 'utf8');
const file = join(ROOT, 'test', 'docs', `.batching-example-${process.pid}.ts`);

afterAll(() => rmSync(file, { force: true }));

describe('docs/plugins.md: dynamic batching', () => {
  it('its example runs as written: four concurrent calls, one exec, each call its own rows', async () => {
    const code = /<!-- batching:example -->\n```ts\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(code).toBeDefined();
    writeFileSync(file, code as string);
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT });
    expect(stderr).toBe('');
    expect(stdout).toBe('');
  });

  it('its [plugin.batching] block is a valid config', () => {
    const toml = /```toml\n(\[plugin\.batching\][\s\S]*?)```/.exec(doc)?.[1];
    expect(toml).toBeDefined();
    const config = ConfigSchema.parse(parseToml(toml as string));
    expect(config.plugin.batching).toEqual({ max_batch_size: 16, max_queue_delay_ms: 5, preferred_batch_sizes: [8, 16] });
  });
});
