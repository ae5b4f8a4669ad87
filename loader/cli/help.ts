/**
 * The examples section every verb's `--help` ends with (CONTRIBUTING.md, "CLI conventions"):
 * `Examples:` and one command line per example, each starting `aiges <verb>`.
 */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}
