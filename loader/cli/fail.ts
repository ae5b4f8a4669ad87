/**
 * How every verb reports that it failed: a line on stderr that starts `aiges <verb>: `, with a
 * tool error's stable code first (`aiges image build: [IMAGE_NO_PROJECT] …`), and no stack trace
 * unless debugging: `--log-level debug|trace` on the verbs that take it (serve, lb), else
 * `AIGES_LOG_LEVEL=debug|trace` in the environment (every verb). A message that lists several
 * problems (an invalid config) goes on over indented lines; it never starts with a stack.
 */
import { isToolError } from '../tools/errors.js';

/** Whether a failure prints its stack: the verb's log level, else $AIGES_LOG_LEVEL, is debug or trace. */
export function isDebug(level?: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const effective = level ?? env['AIGES_LOG_LEVEL'];
  return effective === 'debug' || effective === 'trace';
}

/** `aiges <verb>: [CODE] message` (the code for tool errors only; `aiges: …` without a verb), newline-terminated. */
export function errorLine(verb: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `aiges${verb === '' ? '' : ` ${verb}`}: ${isToolError(err) ? `[${err.code}] ` : ''}${message.trimEnd()}\n`;
}

/** Writes the error line, and with debugging the stack (and its causes) after it. */
export function printError(verb: string, err: unknown, level?: string): void {
  process.stderr.write(errorLine(verb, err));
  if (!isDebug(level)) return;
  for (let e: unknown = err; e instanceof Error; e = e.cause) process.stderr.write(`${e.stack ?? e.message}\n`);
}
