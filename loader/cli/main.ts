#!/usr/bin/env node
/**
 * The `aiges` command line. A verb reports its own failures (cli/fail.ts); anything it lets
 * escape is reported here the same way, as one line, and exits 1.
 */
// NOTE: first, so that its V8 settings hold before any other module runs.
import './v8-settings.js';
import type { Command } from 'commander';
import { printError } from './fail.js';
import { buildProgram, verbOf } from './program.js';

const program = buildProgram();
let running: Command = program;
program.hook('preAction', (_program, action) => {
  running = action;
});
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const level = running.opts()['logLevel'];
  printError(verbOf(running), err, typeof level === 'string' ? level : undefined);
  process.exitCode = 1;
}
