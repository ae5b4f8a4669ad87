#!/usr/bin/env node
/** The `aiges` command line. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { callCommand } from './call.js';
import { serveCommand } from './serve.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('aiges')
  .description('aiges-ts: serve AI wrapper plugins over gRPC and HTTP')
  .version(pkg.version)
  .addCommand(serveCommand())
  .addCommand(callCommand())
  .showHelpAfterError();

await program.parseAsync(process.argv);
