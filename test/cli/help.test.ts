/**
 * CONTRIBUTING.md "CLI conventions": every verb's `--help` (groups and the program too) ends with
 * an Examples section whose lines run that verb. The tree is walked in-process (cli/program.ts), so
 * a verb added later is held to it without a list here to update.
 */
import { execFileSync } from 'node:child_process';
import { constants, accessSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { allCommands, buildProgram, verbOf } from '../../loader/cli/program.js';
import { ROOT, runToExit } from './serve-process.js';

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (text) => (out += text) });
  cmd.outputHelp();
  return out;
}

const commands = allCommands(buildProgram());

describe('--help', () => {
  it('walks every verb', () => {
    expect(commands.map(verbOf)).toEqual(expect.arrayContaining(['serve', 'new', 'check', 'image base', 'services ls', 'config push']));
  });

  it.each(commands.map((c) => [verbOf(c) || '(the program)', c] as const))('aiges %s --help has examples of itself', (_verb, cmd) => {
    const help = helpOf(cmd);
    const section = /\nExamples:\n((?: {2}.*\n?)+)$/.exec(help)?.[1];
    expect(section, help).toBeDefined();
    const lines = (section as string).trimEnd().split('\n');
    const verb = verbOf(cmd);
    // A group's examples run its verbs; a verb's run itself.
    for (const line of lines) expect(line).toMatch(new RegExp(`^ {2}aiges ${verb === '' ? '' : `${verb}(\\s|$)`}`));
  });

  it("services ls says its VERSION column is [polaris] service_version, which README's [polaris] block shows", () => {
    const ls = commands.find((c) => verbOf(c) === 'services ls') as Command;
    expect(helpOf(ls)).toMatch(/VERSION is the service version the instance registered with, its \[polaris\] service_version/);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(/```toml\n\[polaris\]\n[^`]*\nservice_version = "1" +# the VERSION aiges services ls shows/.test(readme)).toBe(true);
  });

  it('prints the same from the CLI, exit 0', async () => {
    const r = await runToExit(['image', 'base', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nExamples:\n  aiges image base --variant cpu');
  });
});

describe('the built bin', () => {
  // npm links `aiges` to this file; a link made by an earlier install of the same checkout path is
  // not marked again, so the build itself leaves it executable (package.json "build").
  it('is executable and runs on its own (shebang), as npx and a global install run it', () => {
    const bin = join(ROOT, 'dist/loader/cli/main.js');
    expect(() => accessSync(bin, constants.X_OK)).not.toThrow();
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
