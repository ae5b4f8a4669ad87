/**
 * A fleet rendered by the built CLI (`aiges deploy render`), read back from its YAML files: two
 * loader services (echo with a config file; asr on a GPU with an HPA), the keys Secret and the
 * console. Shared by the schema and wiring checks and by the run of `aiges serve` with the args.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from '../../../loader/tools/deploy/objects.js';
import { ROOT, runToExit } from '../../cli/serve-process.js';

/** The kubernetes-models class of each kind the renderer writes: `new Model(object).validate()`. */
export const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Deployment,
  StatefulSet,
  HorizontalPodAutoscaler,
  ConfigMap,
  Secret,
  Service,
};

export interface RenderedFleet {
  dir: string;
  out: string;
  /** The --config file given to echo, and the keys file. */
  configFile: string;
  keysFile: string;
  files: string[];
  objects: K8sObject[];
}

/** A loader config as an operator ships it: its own drain, and the plugin named from the config's folder. */
export const ECHO_CONFIG = `[plugin]\npath = "${ROOT}demo/echo/wrapper.ts"\n\n[limits]\ndrain_grace_ms = 20000\ncapacity = 16\n`;
/** docs/security.md's keys file shape; the secret is base64 of 16 bytes. */
export const KEYS_TEXT = '[[keys]]\naccess_key = "ak1"\nsecret_key = "MDEyMzQ1Njc4OWFiY2RlZg=="\n';

export async function renderTestFleet(): Promise<RenderedFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'aiges-deploy-'));
  const configFile = join(dir, 'echo.toml');
  const keysFile = join(dir, 'keys.toml');
  writeFileSync(configFile, ECHO_CONFIG);
  writeFileSync(keysFile, KEYS_TEXT, { mode: 0o600 });
  const out = join(dir, 'k8s');
  const result = await runToExit([
    'deploy',
    'render',
    '--out',
    out,
    '--service',
    'echo',
    '--image',
    'echo:1',
    '--config',
    configFile,
    '--replicas',
    '2',
    '--service',
    'asr',
    '--image',
    'asr:2',
    '--gpu',
    '1',
    '--cpu',
    '4',
    '--memory',
    '8Gi',
    '--max-replicas',
    '6',
    '--keys-file',
    keysFile,
    '--console',
  ]);
  if (result.code !== 0) throw new Error(`aiges deploy render failed: ${result.stderr}`);
  return { dir, out, configFile, keysFile, ...readManifests(out) };
}

/** Every object of every YAML file of `out`, in file order. */
export function readManifests(out: string): { files: string[]; objects: K8sObject[] } {
  const files = readdirSync(out).sort();
  const objects = files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(out, f), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject;
    }),
  );
  return { files, objects };
}

/** The one object of that kind and name. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`${found.length} ${kind} named ${name}`);
  return found[0] as K8sObject;
}

/** The value after `flag` in an argument list. */
export function argAfter(args: string[], flag: string): string {
  const i = args.indexOf(flag);
  if (i < 0 || i + 1 >= args.length) throw new Error(`no ${flag} in ${args.join(' ')}`);
  return args[i + 1] as string;
}
