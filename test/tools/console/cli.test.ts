/**
 * `aiges console` refuses to start, with its code and exit 2, when nobody could log in or a token
 * file is unusable — before it reaches etcd (none listens at the address given).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runToExit } from '../../cli/serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'aiges-console-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('aiges console, refusing to start', () => {
  it('exits 2 with CONSOLE_BAD_ARGUMENT for no login at all, a missing, empty or weak token file', async () => {
    writeFileSync(join(dir, 'empty.tokens'), '# nothing yet\n\n');
    writeFileSync(join(dir, 'weak.tokens'), 'short\n');
    const cases: [string[], RegExp][] = [
      [[], /nobody could log in: give --operator-token-file, --viewer-token-file or --anonymous/],
      [['--operator-token-file', join(dir, 'missing.tokens')], /cannot read .*missing\.tokens/],
      [['--viewer-token-file', join(dir, 'empty.tokens')], /empty\.tokens holds no token/],
      [['--operator-token-file', join(dir, 'weak.tokens')], /every token needs 16 characters or more/],
    ];
    for (const [flags, message] of cases) {
      const run = await runToExit(['console', '--etcd', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', ...flags]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^aiges console: \[CONSOLE_BAD_ARGUMENT\] /);
      expect(run.stderr).toMatch(message);
    }
  });
});
