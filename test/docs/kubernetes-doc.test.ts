/**
 * docs/kubernetes.md's `npx aiges deploy render` lines run as written (the built CLI for npx, in a
 * folder holding the prod.toml and keys.toml they name), and what they write validates against the
 * Kubernetes API schemas; its `kubectl apply` line applies a folder one of them wrote.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeployCodes } from '../../loader/tools/deploy/errors.js';
import { ROOT, runCli } from '../cli/serve-process.js';
import { MODELS, readManifests } from '../tools/deploy/fleet.js';

const doc = readFileSync(join(ROOT, 'docs/kubernetes.md'), 'utf8');
const shell = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] as string).split('\n'));
const renders = shell.filter((l) => l.startsWith('npx aiges deploy render '));
const dir = mkdtempSync(join(tmpdir(), 'aiges-k8s-doc-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI in `dir`; resolves with the exit code and stderr. */
function runIn(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const cli = runCli(args);
  return cli.exited.then((exit) => ({ code: exit.code, stderr: cli.stderr() }));
}

describe('docs/kubernetes.md', () => {
  it('renders with each of its commands, into objects that validate', async () => {
    expect(renders).toHaveLength(3);
    writeFileSync(join(dir, 'prod.toml'), '[plugin]\npath = "wrapper.ts"\n\n[limits]\ndrain_grace_ms = 20000\n');
    writeFileSync(join(dir, 'keys.toml'), '[[keys]]\naccess_key = "ak1"\nsecret_key = "MDEyMzQ1Njc4OWFiY2RlZg=="\n', { mode: 0o600 });
    for (const line of renders) {
      // Relative paths of the line are the doc's folder's: make them this test folder's.
      const args = line
        .slice('npx aiges '.length)
        .split(/\s+/)
        .map((a, i, all) => (['--out', '--config', '--keys-file'].includes(all[i - 1] ?? '') ? join(dir, a) : a));
      const result = await runIn(args);
      expect(result.code, `${line}\n${result.stderr}`).toBe(0);
      const { objects } = readManifests(args[args.indexOf('--out') + 1] as string);
      for (const o of objects)
        expect(() => new (MODELS[o.kind] as NonNullable<(typeof MODELS)[string]>)(o as never).validate()).not.toThrow();
    }
    const apply = shell.find((l) => l.startsWith('kubectl apply -f '));
    expect(renders.some((l) => l.includes(`--out ${apply?.split(' ').at(-1)} `))).toBe(true);
  }, 120_000);

  it.each(Object.values(DeployCodes))('documents the error code %s', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });
});
