/**
 * `aiges check <plugin-dir|aiges.toml>`: loads a plugin in-process and runs its sample requests
 * (logic in loader/tools/check/). Exit 0: every sample passed; 1: a sample failed; 2: the check could
 * not run (bad target, malformed samples file, plugin failed to load), with a stable error code.
 */
import { Command } from 'commander';
import { runCheck } from '../tools/check/check.js';
import { isToolError } from '../tools/errors.js';
import { formatReport } from '../tools/check/report.js';
import { printError } from './fail.js';
import { examples } from './help.js';

interface CheckFlags {
  samples?: string;
  json?: boolean;
}

export function checkCommand(): Command {
  return new Command('check')
    .description("Run a plugin's sample requests (once and session) and check the answers against its schema.")
    .argument('[target]', 'plugin folder, plugin file or aiges.toml', '.')
    .option('-s, --samples <file>', 'samples file (default: <project>/samples/requests.toml)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nThe samples format is described in docs/plugins.md ("Sample requests").\n' +
        examples(
          'aiges check .                                  # samples/requests.toml of the project here',
          'aiges check my-plugins/wc/aiges.session.toml --samples my-plugins/wc/samples/session.toml',
          'aiges check demo/echo --json',
        ),
    )
    .action(async (target: string, flags: CheckFlags) => {
      try {
        const report = await runCheck({ target, samples: flags.samples });
        process.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : formatReport(report));
        process.exitCode = report.ok ? 0 : 1;
      } catch (err) {
        if (!isToolError(err)) throw err;
        if (flags.json === true)
          process.stdout.write(`${JSON.stringify({ ok: false, error: { code: err.code, message: err.message } })}\n`);
        printError('check', err);
        process.exitCode = err.exitCode;
      }
    });
}
