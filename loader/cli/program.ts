/**
 * The `aiges` command tree, built without running it (main.ts runs it; tests walk it), with the
 * conventions every verb shares (CONTRIBUTING.md, "CLI conventions"): commander's own usage
 * errors read `aiges <verb>: …` like the verbs' errors, and exit 2 like them.
 */
import { Command, type CommanderError } from 'commander';
import { batchCommand } from './batch.js';
import { callCommand } from './call.js';
import { checkCommand } from './check.js';
import { configCommand } from './config.js';
import { consoleCommand } from './console.js';
import { deployCommand } from './deploy.js';
import { evalCommand } from './eval.js';
import { imageCommand } from './image.js';
import { keysCommand } from './keys.js';
import { lbCommand } from './lb.js';
import { newCommand } from './new.js';
import { polarisCommand } from './polaris.js';
import { serveCommand } from './serve.js';
import { servicesCommand } from './services.js';
import { xtestCommand } from './xtest.js';
import { USAGE_EXIT_CODE } from '../tools/errors.js';
import { installRoot } from '../lib/install-root.js';
import { errorLine } from './fail.js';
import { examples } from './help.js';
import { fetchLoad } from '../../polaris/client/load-fetch.js';

/** "image build" for the `build` command under `image`; '' for the program itself. */
export function verbOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent != null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command of the tree, depth first, the program first. */
export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

export function buildProgram(): Command {
  const program = new Command('aiges')
    .description('aiges-ts: serve AI wrapper plugins over gRPC and HTTP')
    .version(installRoot().version)
    // Program options only before a verb, so that a verb's own --version (config get) is its own.
    .enablePositionalOptions()
    .addCommand(serveCommand())
    .addCommand(callCommand())
    .addCommand(lbCommand())
    .addCommand(configCommand())
    .addCommand(servicesCommand({ fetchLoad }))
    .addCommand(keysCommand())
    .addCommand(polarisCommand())
    .addCommand(consoleCommand())
    .addCommand(xtestCommand())
    .addCommand(batchCommand())
    .addCommand(evalCommand())
    .addCommand(imageCommand())
    .addCommand(deployCommand())
    .addCommand(newCommand())
    .addCommand(checkCommand())
    .addHelpText(
      'after',
      examples(
        'aiges serve demo/echo                                  # gRPC :5090, HTTP :8080',
        'aiges call 127.0.0.1:5090 echo --text text=hello',
        'aiges new word-count --dir /tmp && aiges check /tmp/word-count',
        'aiges <verb> --help                                    # each verb, with its own examples',
      ),
    )
    .showHelpAfterError();
  for (const cmd of allCommands(program)) {
    const prefix = errorLine(verbOf(cmd), '').trimEnd();
    cmd.configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, `${prefix} `)) });
    // A usage error (unknown flag, missing argument, bad choice) is "could not run as asked": exit 2.
    cmd.exitOverride((err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : USAGE_EXIT_CODE));
  }
  return program;
}
