/**
 * `aiges new <name>`: scaffolds a plugin project (logic in loader/tools/scaffold/). Exit 2 with the
 * error's stable code on a bad name, an unknown --lang or a non-empty target folder.
 */
import { relative } from 'node:path';
import { Command } from 'commander';
import { isToolError, USAGE_EXIT_CODE } from '../tools/errors.js';
import { LANGS } from '../tools/scaffold/names.js';
import { scaffold } from '../tools/scaffold/scaffold.js';
import { printError } from './fail.js';
import { examples } from './help.js';

const NEXT_STEPS: Record<string, string> = {
  ts: 'npm test && npx aiges check . && npx aiges serve .',
  cpp: 'cmake -S . -B build && cmake --build build && npx aiges check . && npx aiges serve .',
  cuda: 'cmake -S . -B build && cmake --build build && npx aiges check . && npx aiges serve .',
};

export function newCommand(): Command {
  return new Command('new')
    .description('Scaffold a plugin project: wrapper with a schema, samples, a test, README, aiges.toml, Dockerfile.')
    .argument('<name>', 'project name: the folder, the service id (lowercase letters, digits, dashes)')
    .option('--lang <lang>', `wrapper language: ${LANGS.join(' | ')}`, 'ts')
    .option('--dir <parent>', 'create the project folder in this folder', '.')
    .addHelpText(
      'after',
      examples(
        'aiges new word-count --dir /tmp          # a TS plugin in /tmp/word-count',
        'aiges new wc --lang cpp --dir my-plugins   # an AIGes C-ABI wrapper in C++',
      ),
    )
    .action((name: string, flags: { lang: string; dir: string }) => {
      try {
        const result = scaffold({ name, lang: flags.lang, parent: flags.dir });
        const shown = relative(process.cwd(), result.dir) || '.';
        process.stdout.write(`created ${result.lang} plugin project ${shown}\n`);
        for (const file of result.files) process.stdout.write(`  ${file}\n`);
        process.stdout.write(`next: cd ${shown} && ${NEXT_STEPS[result.lang]}\n`);
      } catch (err) {
        printError('new', err);
        process.exitCode = isToolError(err) ? err.exitCode : USAGE_EXIT_CODE;
      }
    });
}
