#!/usr/bin/env node
/** The `aiges` command line. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { callCommand } from './call.js';
import { checkCommand } from './check.js';
import { configCommand } from './config.js';
import { imageCommand } from './image.js';
import { lbCommand } from './lb.js';
import { newCommand } from './new.js';
import { serveCommand } from './serve.js';
import { servicesCommand } from './services.js';
import { xtestCommand } from './xtest.js';
import { fetchLoad } from '../../polaris/client/load-fetch.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('aiges')
  .description('aiges-ts: serve AI wrapper plugins over gRPC and HTTP')
  .version(pkg.version)
  // Program options only before a verb, so that a verb's own --version (config get) is its own.
  .enablePositionalOptions()
  .addCommand(serveCommand())
  .addCommand(callCommand())
  .addCommand(lbCommand())
  .addCommand(configCommand())
  .addCommand(servicesCommand({ fetchLoad }))
  .addCommand(xtestCommand())
  .addCommand(imageCommand())
  .addCommand(newCommand())
  .addCommand(checkCommand())
  .showHelpAfterError();

await program.parseAsync(process.argv);
