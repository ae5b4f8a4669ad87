/**
 * A repository model's own config, `<repository>/<model>/config.toml` (optional; docs/models.md):
 * its inputs and outputs, max batch size, instance count and version policy. Validated once
 * when the model loads; an unknown key or a bad value fails that model's load, naming the file
 * and the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { z } from 'zod';
import { AigesError, Codes } from '../errors.js';
import { TENSOR_DATATYPES, type TensorDatatype } from '../../plugins/tensor.js';

export const MODEL_CONFIG_FILE = 'config.toml';

const datatype = z.enum(Object.keys(TENSOR_DATATYPES) as [TensorDatatype, ...TensorDatatype[]]);

const tensorConfig = z
  .object({
    /** The ONNX graph's input or output name. */
    name: z.string().min(1),
    /** V2 datatype (FP32, INT64, …); default: the model's own. */
    datatype: datatype.optional(),
    /** The shape without the batch dimension when max_batch_size > 0 (Triton's dims); -1: any size. */
    dims: z.array(z.number().int().min(-1)).optional(),
  })
  .strict();

const versionPolicy = z.union([
  z.object({ latest: z.number().int().positive() }).strict(),
  z.object({ all: z.literal(true) }).strict(),
  z.object({ specific: z.array(z.number().int().nonnegative()).min(1) }).strict(),
]);

export const ModelConfigSchema = z
  .object({
    /** Inputs to declare (default: all of the model's, from its metadata). */
    inputs: z.array(tensorConfig).optional(),
    /** Outputs to declare (default: all of the model's). */
    outputs: z.array(tensorConfig).optional(),
    /** > 0: the first dimension of every input and output is the batch, at most this large. */
    max_batch_size: z.number().int().min(0).default(0),
    /**
     * Dynamic batching (the loader's batcher, docs/plugins.md "Dynamic batching"): concurrent
     * calls merged along the batch dimension into runs of at most max_batch_size rows. Needs
     * max_batch_size > 1. Absent: each call runs alone.
     */
    dynamic_batching: z
      .object({
        /** How long a partial batch waits for more calls (0: runs at once with what queued while the model was busy). */
        max_queue_delay_ms: z.number().int().min(0).default(0),
        /** Batch sizes that run at once when queued calls add up to one. */
        preferred_batch_sizes: z.array(z.number().int().positive()).default([]),
      })
      .strict()
      .optional(),
    /** ONNX Runtime sessions per served version; calls go to the least busy. */
    instance_count: z.number().int().positive().max(64).default(1),
    /** Which version folders are served: Triton's default is the latest one. */
    version_policy: versionPolicy.default({ latest: 1 }),
  })
  .strict();

export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type TensorConfig = z.infer<typeof tensorConfig>;
export type VersionPolicy = z.infer<typeof versionPolicy>;

/** A model folder's config.toml, validated; the defaults when there is none. */
export function readModelConfig(modelDir: string): ModelConfig {
  const file = join(modelDir, MODEL_CONFIG_FILE);
  if (!existsSync(file)) return ModelConfigSchema.parse({});
  let tree: unknown;
  try {
    tree = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw configError(`${file}: ${(err as Error).message}`);
  }
  return parseModelConfig(tree, file);
}

/** Validates a parsed config tree; `file` names it in errors. */
export function parseModelConfig(tree: unknown, file: string): ModelConfig {
  const parsed = ModelConfigSchema.safeParse(tree);
  if (parsed.success) {
    if (parsed.data.dynamic_batching !== undefined && parsed.data.max_batch_size < 2) {
      throw configError(`${file}: dynamic_batching needs max_batch_size of 2 or more (it is ${parsed.data.max_batch_size})`);
    }
    return parsed.data;
  }
  const lines = parsed.error.issues.map((issue) => {
    const at = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `unknown key "${at === '' ? k : `${at}.${k}`}"`).join('; ');
    }
    if (issue.code === 'invalid_union' && issue.path[0] === 'version_policy') {
      return 'version_policy must be { latest = N }, { all = true } or { specific = [versions] }';
    }
    return `key "${at}": ${issue.message}`;
  });
  throw configError(`${file}: ${lines.join('; ')}`);
}

/** The version numbers a policy serves out of those on disk (ascending). */
export function servedVersions(policy: VersionPolicy, onDisk: readonly number[]): number[] {
  const sorted = [...onDisk].sort((a, b) => a - b);
  if ('all' in policy) return sorted;
  if ('latest' in policy) return sorted.slice(-policy.latest);
  return sorted.filter((v) => policy.specific.includes(v));
}

function configError(message: string): AigesError {
  return new AigesError(Codes.PLUGIN_INIT, message);
}
