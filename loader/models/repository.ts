/**
 * Finds models on disk (finding only; loading is the manager's): a model repository is a folder
 * of model folders, `<repository>/<model>/<version>/model.onnx`, versions being numeric folder
 * names, with an optional `<repository>/<model>/config.toml` (model-config.ts). A model's name is
 * its service id. Anything else in the folder (files, folders whose names are not ids, version
 * folders without a model.onnx) is not a model and is left alone.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AigesError, Codes } from '../errors.js';
import { MODEL_CONFIG_FILE } from './model-config.js';

export const MODEL_FILE = 'model.onnx';

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface ModelFolder {
  name: string;
  dir: string;
  /** Version numbers whose folder holds a model.onnx, ascending. */
  versions: number[];
  /**
   * What the model's files are now (sizes and modification times of its model files and config):
   * a poll reloads a model whose signature changed.
   */
  signature: string;
}

function stamp(file: string): string {
  const s = statSync(file, { throwIfNoEntry: false });
  return s === undefined ? '-' : `${s.size}@${s.mtimeMs}`;
}

/** The model folder `name` of the repository, or undefined when there is none. */
export function findModel(repository: string, name: string): ModelFolder | undefined {
  if (!MODEL_NAME.test(name)) return undefined;
  const dir = join(resolve(repository), name);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  const versions: number[] = [];
  const stamps: string[] = [stamp(join(dir, MODEL_CONFIG_FILE))];
  for (const entry of readdirSync(dir)) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const file = join(dir, entry, MODEL_FILE);
    if (!existsSync(file)) continue;
    versions.push(Number(entry));
    stamps.push(`${entry}:${stamp(file)}`);
  }
  versions.sort((a, b) => a - b);
  return { name, dir, versions, signature: stamps.sort().join(',') };
}

/** Every model folder of the repository, by name. Throws when the repository is not a folder. */
export function scanRepository(repository: string): Map<string, ModelFolder> {
  const found = new Map<string, ModelFolder>();
  const abs = resolve(repository);
  if (!statSync(abs, { throwIfNoEntry: false })?.isDirectory()) {
    throw new AigesError(Codes.PLUGIN_INIT, `model repository ${abs} is not a folder`);
  }
  for (const name of readdirSync(abs).sort()) {
    const model = findModel(repository, name);
    if (model !== undefined) found.set(name, model);
  }
  return found;
}

/** The file of one version of a model. */
export function modelFile(model: ModelFolder, version: number): string {
  return join(model.dir, String(version), MODEL_FILE);
}
