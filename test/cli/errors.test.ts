/**
 * CONTRIBUTING.md "CLI conventions": a failure is one line on stderr, `aiges <verb>: …`, with a
 * tool error's code first, for the verbs' own errors and commander's usage errors alike; the
 * stack follows only when debugging.
 */
import { describe, expect, it } from 'vitest';
import { errorLine, isDebug } from '../../loader/cli/fail.js';
import { ToolError } from '../../loader/tools/errors.js';
import { runToExit } from './serve-process.js';

describe('errorLine', () => {
  it('names the verb, puts a tool error code first, and has no stack', () => {
    expect(errorLine('image build', new ToolError('IMAGE_NO_PROJECT', 'x is not a folder'))).toBe(
      'aiges image build: [IMAGE_NO_PROJECT] x is not a folder\n',
    );
    expect(errorLine('serve', new Error('plugin path /x does not exist'))).toBe('aiges serve: plugin path /x does not exist\n');
    expect(errorLine('', 'unknown command')).toBe('aiges: unknown command\n');
  });

  it('debugs at the verb level debug or trace, else at $AIGES_LOG_LEVEL', () => {
    expect(isDebug('debug', {})).toBe(true);
    expect(isDebug('info', { AIGES_LOG_LEVEL: 'debug' })).toBe(false);
    expect(isDebug(undefined, { AIGES_LOG_LEVEL: 'trace' })).toBe(true);
    expect(isDebug(undefined, {})).toBe(false);
  });
});

describe('aiges failures', () => {
  it("commander's usage errors read like the verbs' own, at any depth, and exit 2", async () => {
    const unknown = await runToExit(['check', '--bogus']);
    expect([unknown.code, unknown.stderr]).toEqual([2, "aiges check: unknown option '--bogus'\n"]);
    const missing = await runToExit(['image', 'build', 'demo/echo']);
    expect([missing.code, missing.stderr]).toEqual([2, "aiges image build: required option '--tag <tag>' not specified\n"]);
  });

  it('a tool error is one line; AIGES_LOG_LEVEL=debug adds its stack after it', async () => {
    const plain = await runToExit(['check', '/nowhere']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/^aiges check: \[E_CHECK_TARGET\] \/nowhere does not exist[^\n]*\n$/);
    const debug = await runToExit(['check', '/nowhere'], { AIGES_LOG_LEVEL: 'debug' });
    const [line, ...stack] = debug.stderr.split('\n');
    expect(`${line}\n`).toBe(plain.stderr);
    expect(stack.join('\n')).toMatch(/^ToolError: \/nowhere does not exist.*\n {4}at /);
  });
});
