import { WRAPPER_BRAND, type Wrapper, type WrapperDefinition } from './types.js';

/**
 * Declares a wrapper plugin. The module's default export must be the result.
 * Checks the definition's shape at once, so a broken plugin fails when it is loaded, not on
 * its first call.
 */
export function defineWrapper<S = undefined>(definition: WrapperDefinition<S>): Wrapper<S> {
  const problems = describeProblems(definition);
  if (problems.length > 0) throw new TypeError(`invalid wrapper definition: ${problems.join('; ')}`);
  return Object.freeze({ ...definition, [WRAPPER_BRAND]: true as const });
}

export function isWrapper(value: unknown): value is Wrapper {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[WRAPPER_BRAND] === true;
}

/** Lists what is wrong with a definition (empty when it is valid). */
export function describeProblems(def: WrapperDefinition<unknown>): string[] {
  const problems: string[] = [];
  if (typeof def !== 'object' || def === null) return ['the definition must be an object'];
  if (typeof def.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(def.id)) {
    problems.push('id must be a non-empty string of letters, digits, ".", "_" or "-"');
  }
  if (typeof def.schema !== 'object' || def.schema === null) problems.push('schema is required');
  else {
    if (typeof def.schema.input !== 'object' || def.schema.input === null) problems.push('schema.input is required');
    if (typeof def.schema.output !== 'object' || def.schema.output === null) problems.push('schema.output is required');
  }
  for (const [version, schema] of Object.entries(def.versionSchemas ?? {})) {
    if (def.versions?.includes(version) !== true)
      problems.push(`versionSchemas names version ${JSON.stringify(version)}, which versions does not list`);
    if (typeof schema !== 'object' || schema === null || typeof schema.input !== 'object' || typeof schema.output !== 'object') {
      problems.push(`versionSchemas[${JSON.stringify(version)}] needs input and output`);
    }
  }
  if (def.exec === undefined && def.session === undefined) problems.push('define exec, session, or both');
  for (const name of ['init', 'exec', 'fini'] as const) {
    if (def[name] !== undefined && typeof def[name] !== 'function') problems.push(`${name} must be a function`);
  }
  if (def.batching !== undefined) problems.push(...batchingProblems(def.batching, def.exec !== undefined));
  if (def.session !== undefined && typeof def.session?.create !== 'function') {
    problems.push('session.create must be a function');
  }
  return problems;
}

function batchingProblems(batching: unknown, hasExec: boolean): string[] {
  if (typeof batching !== 'object' || batching === null) return ['batching must be an object'];
  const { maxBatchSize, maxQueueDelayMs, preferredBatchSizes } = batching as Record<string, unknown>;
  const problems: string[] = [];
  if (!Number.isSafeInteger(maxBatchSize) || (maxBatchSize as number) < 0) problems.push('batching.maxBatchSize must be an integer ≥ 0');
  if (maxQueueDelayMs !== undefined && !(typeof maxQueueDelayMs === 'number' && Number.isFinite(maxQueueDelayMs) && maxQueueDelayMs >= 0)) {
    problems.push('batching.maxQueueDelayMs must be a number of milliseconds ≥ 0');
  }
  if (
    preferredBatchSizes !== undefined &&
    !(Array.isArray(preferredBatchSizes) && preferredBatchSizes.every((n) => Number.isSafeInteger(n) && n > 0))
  ) {
    problems.push('batching.preferredBatchSizes must be a list of integers ≥ 1');
  }
  if (!hasExec) problems.push('batching needs exec (sessions are not batched)');
  return problems;
}
