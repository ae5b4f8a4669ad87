/**
 * The V2 model repository extension, shared by the REST and gRPC adapters: the index, load and
 * unload of the loader's model repository (loader/models/manager.ts, docs/models.md). A loader
 * without `[repository]` answers 10003 (400 / FAILED_PRECONDITION). With `[auth] mode = "aksk"`
 * a key may load and unload only the models its services allow, and sees only those in the index.
 */
import type { Caller } from '../dataplane/call.js';
import { AigesError, Codes } from '../errors.js';
import type { IndexEntry, ModelManager } from '../models/manager.js';

export type RepositoryControl = Pick<ModelManager, 'index' | 'load' | 'unload'>;

/** Server metadata's extensions: the V2 ones, and `model_repository` when the loader has one. */
export function extensionsWith(extensions: readonly string[], models: RepositoryControl | undefined): string[] {
  return models === undefined ? [...extensions] : [...extensions, 'model_repository'];
}

function control(models: RepositoryControl | undefined): RepositoryControl {
  if (models === undefined) {
    throw new AigesError(Codes.INVALID_OP, 'this loader serves no model repository (aiges serve --model-repository DIR)');
  }
  return models;
}

function allowed(caller: Caller | undefined, name: string): boolean {
  if (caller === undefined) return true;
  try {
    caller.authorize(name);
    return true;
  } catch {
    return false;
  }
}

/** The index entries the caller may see; only READY ones when `ready`. */
export function repositoryIndex(models: RepositoryControl | undefined, ready: boolean, caller: Caller | undefined): IndexEntry[] {
  return control(models)
    .index()
    .filter((e) => (!ready || e.state === 'READY') && allowed(caller, e.name));
}

export function repositoryLoad(models: RepositoryControl | undefined, name: string, caller: Caller | undefined): Promise<void> {
  const repository = control(models);
  caller?.authorize(name);
  return repository.load(name);
}

export function repositoryUnload(models: RepositoryControl | undefined, name: string, caller: Caller | undefined): Promise<void> {
  const repository = control(models);
  caller?.authorize(name);
  return repository.unload(name);
}
