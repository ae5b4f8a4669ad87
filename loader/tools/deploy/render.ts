/**
 * `aiges deploy render`: a fleet's manifests as YAML files, one per part, numbered in the order
 * `kubectl apply -f DIR` applies them (it takes a folder's files in name order): 00-etcd.yaml,
 * 10-keys.yaml (with --keys-file), 20-loader-<service>.yaml each, 30-lb.yaml, 40-console.yaml
 * (with --console).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { etcdObjects } from './etcd.js';
import { DeployCodes, deployError } from './errors.js';
import { balancerObjects, consoleObjects } from './front.js';
import { loaderName, loaderObjects } from './loader-service.js';
import { type K8sObject, KEYS, labels } from './objects.js';
import { checkFleet, type FleetSpec, keysText, serviceConfig } from './spec.js';

/** File name → the objects it holds, in apply order. */
export function renderFleet(fleet: FleetSpec): Map<string, K8sObject[]> {
  checkFleet(fleet);
  const files = new Map<string, K8sObject[]>();
  files.set('00-etcd.yaml', etcdObjects(fleet.etcdImage, fleet.etcdStorage));
  const keys = fleet.keysFile !== undefined;
  if (fleet.keysFile !== undefined) {
    files.set('10-keys.yaml', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: KEYS.secret, labels: labels('keys', KEYS.secret) },
        type: 'Opaque',
        stringData: { [KEYS.key]: keysText(fleet.keysFile) },
      },
    ]);
  }
  for (const service of fleet.services) {
    const { config, text } = serviceConfig(service);
    const input = { service, config, keys, hpaInflight: fleet.hpaInflight, ...(text === undefined ? {} : { configText: text }) };
    files.set(`20-${loaderName(service.name)}.yaml`, loaderObjects(input));
  }
  files.set('30-lb.yaml', balancerObjects(fleet.baseImage, fleet.lbReplicas, keys));
  if (fleet.console) files.set('40-console.yaml', consoleObjects(fleet.baseImage));
  return files;
}

/** One YAML stream: the objects as documents separated by `---`. */
export function toYaml(objects: K8sObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** Renders into `out` (created; it must be absent or empty) and returns the paths written. */
export function writeFleet(fleet: FleetSpec, out: string): string[] {
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw deployError(DeployCodes.OUT_NOT_EMPTY, `--out ${out} is not empty (render into a new folder, so no stale manifest is applied)`);
  }
  const files = renderFleet(fleet);
  mkdirSync(out, { recursive: true });
  const written: string[] = [];
  for (const [name, objects] of files) {
    const path = join(out, name);
    writeFileSync(path, toYaml(objects));
    written.push(path);
  }
  return written;
}
