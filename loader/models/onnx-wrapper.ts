/**
 * An ONNX model as a wrapper (docs/models.md): the one data plane then serves it on every
 * protocol with no code. The schema declares one tensor per model input and output, from the
 * model's own metadata (ONNX Runtime's) or from the model's config.toml; `exec` hands the input
 * items to ONNX Runtime as tensors viewing the items' bytes (no copy when they are aligned, as
 * `typedArrayOf` says) and returns the output arrays onnxruntime-node hands back as tensor items,
 * not copied again.
 *
 * One wrapper serves every version the policy picked (`versions`, latest last); a request names
 * one (`InferRequest.version`) or gets the latest. A version whose tensors differ from the
 * latest's declares its own schema (`versionSchemas`), so requests to it are checked against it.
 * Each version has `instance_count` sessions; a call goes to the one with the fewest calls
 * running. ONNX Runtime runs a session's calls on its own threads, off the event loop.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { z } from 'zod';
import { AigesError, Codes, named } from '../errors.js';
import {
  bytesElements,
  type NumericDatatype,
  type TensorArray,
  type TensorDatatype,
  tensorData,
  typedArrayOf,
} from '../../plugins/tensor.js';
import { pluginError } from '../../plugins/errors.js';
import { defineWrapper } from '../../plugins/define.js';
import { DataType, type ItemSpec, type OutputItem, type Wrapper, type WrapperSchema } from '../../plugins/types.js';
import type { ModelConfig, TensorConfig } from './model-config.js';

/** ONNX Runtime's tensor type names ↔ V2 datatypes (those both have). */
const ORT_TO_V2: Readonly<Record<string, TensorDatatype>> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};
const V2_TO_ORT: Readonly<Partial<Record<TensorDatatype, string>>> = Object.fromEntries(
  Object.entries(ORT_TO_V2).map(([ort, v2]) => [v2, ort]),
);

/**
 * Execution providers a repository may ask ONNX Runtime for. "auto": the CUDA provider when
 * onnxruntime-node's CUDA parts are installed (then the CPU for what CUDA lacks), the CPU alone
 * when they are not or when CUDA cannot start (no GPU, no driver).
 */
export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** `execution_providers` of `[repository]` and `[plugin.onnx]`, in order of preference. */
export const ExecutionProvidersSetting = z
  .array(z.enum(EXECUTION_PROVIDERS))
  .min(1)
  .refine((p) => !p.includes('auto') || p.length === 1, { message: '"auto" stands alone' })
  .default(['auto']);

/** The CUDA provider's library, which onnxruntime-node's install script puts beside its binding. */
export function cudaProviderLibrary(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
}

export interface OnnxVersion {
  version: string;
  /** The model file (model.onnx). */
  file: string;
}

export interface OnnxModelOptions {
  /** The service id: the model's name. */
  id: string;
  /** The versions served, ascending (the latest last). */
  versions: readonly OnnxVersion[];
  config: ModelConfig;
  providers: readonly ExecutionProvider[];
  /** Whether the CUDA parts are installed, for "auto" (default: cudaProviderLibrary() exists). */
  cudaPresent?: () => boolean;
}

interface Runner {
  session: Ort.InferenceSession;
  running: number;
}

/** A wrapper's state: each served version's sessions. */
export type OnnxState = Map<string, Runner[]>;

interface TensorMeta {
  name: string;
  datatype: TensorDatatype;
  shape: number[];
}

let ortModule: Promise<typeof Ort> | undefined;

/** onnxruntime-node, loaded on first use (its native binding is large; most commands load no model). */
export function onnxRuntime(): Promise<typeof Ort> {
  ortModule ??= import('onnxruntime-node').then((m) => ((m as unknown as { default?: typeof Ort }).default ?? m) as typeof Ort);
  return ortModule;
}

function loadError(message: string, cause?: unknown): AigesError {
  return new AigesError(Codes.PLUGIN_INIT, message, cause === undefined ? {} : { cause });
}

async function createSession(ort: typeof Ort, id: string, v: OnnxVersion, providers: readonly ExecutionProvider[]): Promise<Runner> {
  try {
    const session = await ort.InferenceSession.create(v.file, { executionProviders: [...providers] });
    return { session, running: 0 };
  } catch (err) {
    const message = (err as Error).message;
    if (providers.includes('cuda') && /cuda|provider|shared library/i.test(message)) {
      throw loadError(
        `model ${named(id)} version ${v.version}: ONNX Runtime cannot create the CUDA execution provider (${message.split('\n')[0]}); ` +
          "it needs onnxruntime-node's CUDA parts (libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so beside its " +
          'binding in node_modules/onnxruntime-node/bin/), which its install script would download and npm does not run here, ' +
          'and CUDA 12 and cuDNN 9 on the library path: see docs/models.md, "GPUs"',
        err,
      );
    }
    throw loadError(`model ${named(id)} version ${v.version}: ONNX Runtime cannot load ${v.file}: ${message}`, err);
  }
}

interface Providers {
  providers: Array<'cpu' | 'cuda'>;
  /** Why "auto" left CUDA out although its parts are installed. */
  cudaFailed?: string;
  /** The session "auto" made of the first version on CUDA (its first runner). */
  probe?: Runner;
}

/** The providers sessions are made with: "auto" resolved by trying CUDA once, with the first version. */
async function chooseProviders(ort: typeof Ort, options: OnnxModelOptions): Promise<Providers> {
  if (!options.providers.includes('auto')) return { providers: options.providers as Array<'cpu' | 'cuda'> };
  const cudaPresent = options.cudaPresent ?? (() => existsSync(cudaProviderLibrary()));
  if (!cudaPresent()) return { providers: ['cpu'] };
  const first = options.versions[0] as OnnxVersion;
  try {
    const session = await ort.InferenceSession.create(first.file, { executionProviders: ['cuda', 'cpu'] });
    return { providers: ['cuda', 'cpu'], probe: { session, running: 0 } };
  } catch (err) {
    return { providers: ['cpu'], cudaFailed: ((err as Error).message.split('\n')[0] as string).trim() };
  }
}

async function createSessions(
  ort: typeof Ort,
  options: OnnxModelOptions,
  providers: readonly ExecutionProvider[],
  probe?: Runner,
): Promise<OnnxState> {
  const state: OnnxState = new Map();
  try {
    for (const [n, v] of options.versions.entries()) {
      const runners: Runner[] = n === 0 && probe !== undefined ? [probe] : [];
      state.set(v.version, runners);
      while (runners.length < options.config.instance_count) runners.push(await createSession(ort, options.id, v, providers));
    }
  } catch (err) {
    await releaseAll(state);
    throw err;
  }
  return state;
}

async function releaseAll(state: OnnxState): Promise<void> {
  for (const runners of state.values()) for (const r of runners) await r.session.release().catch(() => undefined);
}

function tensorMetas(
  id: string,
  version: string,
  side: 'input' | 'output',
  metas: readonly Ort.InferenceSession.ValueMetadata[],
): TensorMeta[] {
  return metas.map((m) => {
    if (!m.isTensor)
      throw loadError(
        `model ${named(id)} version ${version}: ${side} ${named(m.name)} is not a tensor (sequences and maps are not served)`,
      );
    const datatype = ORT_TO_V2[m.type];
    if (datatype === undefined)
      throw loadError(`model ${named(id)} version ${version}: ${side} ${named(m.name)} has type ${m.type}, which V2 has no datatype for`);
    // Symbolic dimensions ("N", "batch") and unknown ones are any size.
    const shape = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    return { name: m.name, datatype, shape };
  });
}

/**
 * The declared tensors of one side: the model's own, narrowed by the config where it names them.
 * With max_batch_size > 0 the first dimension is the batch (any size up to it).
 */
function declared(
  id: string,
  version: string,
  side: 'input' | 'output',
  model: TensorMeta[],
  config: readonly TensorConfig[] | undefined,
  maxBatch: number,
): TensorMeta[] {
  const byName = new Map(model.map((m) => [m.name, m]));
  if (config !== undefined && side === 'input') {
    const missing = model.filter((m) => !config.some((c) => c.name === m.name)).map((m) => m.name);
    if (missing.length > 0)
      throw loadError(
        `model ${named(id)} version ${version}: config.toml lists inputs, but not the model's ${missing.map(named).join(', ')}`,
      );
  }
  const chosen = config ?? model.map((m) => ({ name: m.name }) as TensorConfig);
  return chosen.map((c) => {
    const own = byName.get(c.name);
    if (own === undefined)
      throw loadError(
        `model ${named(id)} version ${version}: config.toml names ${side} ${named(c.name)}, which the model does not have (it has ${model.map((m) => named(m.name)).join(', ')})`,
      );
    if (c.datatype !== undefined && c.datatype !== own.datatype) {
      throw loadError(
        `model ${named(id)} version ${version}: config.toml gives ${side} ${named(c.name)} datatype ${c.datatype}, the model's is ${own.datatype}`,
      );
    }
    let shape = own.shape;
    if (c.dims !== undefined) shape = maxBatch > 0 ? [-1, ...c.dims] : [...c.dims];
    else if (maxBatch > 0) shape = [-1, ...own.shape.slice(1)];
    if (maxBatch > 0 && own.shape.length === 0)
      throw loadError(
        `model ${named(id)} version ${version}: max_batch_size > 0 but ${side} ${named(c.name)} is a scalar (no batch dimension)`,
      );
    return { name: c.name, datatype: own.datatype, shape };
  });
}

/** Whether two versions declare the same tensors (names, datatypes and shapes). */
function sameTensors(a: readonly TensorMeta[], b: readonly TensorMeta[]): boolean {
  return (
    a.length === b.length &&
    a.every((t) => b.some((u) => u.name === t.name && u.datatype === t.datatype && u.shape.join() === t.shape.join()))
  );
}

function specs(tensors: readonly TensorMeta[]): Record<string, ItemSpec> {
  const out: Record<string, ItemSpec> = {};
  for (const t of tensors) out[t.name] = { type: 'other', datatype: t.datatype, shape: t.shape };
  return out;
}

function ortInput(ort: typeof Ort, key: string, datatype: TensorDatatype, shape: readonly number[], data: Buffer): Ort.Tensor {
  const type = V2_TO_ORT[datatype] as string;
  if (datatype === 'BYTES') {
    const elements = (bytesElements(data) ?? []).map((b) => b.toString('utf8'));
    return new ort.Tensor('string', elements, shape);
  }
  // A view of the item's bytes (one copy only when the Buffer starts off alignment).
  const array = typedArrayOf(datatype as NumericDatatype, data);
  try {
    return new ort.Tensor(type as 'float32', array as Float32Array, shape);
  } catch (err) {
    throw pluginError('invalid-data', `input ${named(key)}: ${(err as Error).message}`);
  }
}

function outputItem(name: string, tensor: Ort.Tensor): OutputItem {
  const datatype = ORT_TO_V2[tensor.type];
  if (datatype === undefined) throw new Error(`output ${named(name)} has type ${tensor.type}, which V2 has no datatype for`);
  const data = datatype === 'BYTES' ? tensorData(tensor.data as string[]) : tensorData(tensor.data as TensorArray);
  return { key: name, data, type: DataType.OTHER, tensor: { datatype, shape: [...tensor.dims] } };
}

/**
 * Loads an ONNX model's served versions and makes its wrapper. The sessions made here (to read
 * the model's metadata) are the first instance set's; a later set (`init` again, hot config)
 * makes its own. Throws a 10901 error naming the model, the version and what is wrong.
 */
export async function onnxWrapper(options: OnnxModelOptions): Promise<Wrapper<OnnxState>> {
  const { id, config } = options;
  if (options.versions.length === 0) throw loadError(`model ${named(id)}: no version to serve`);
  const ort = await onnxRuntime();
  const { providers, cudaFailed, probe } = await chooseProviders(ort, options);
  let prepared: OnnxState | undefined = await createSessions(ort, options, providers, probe);
  const latest = options.versions[options.versions.length - 1] as OnnxVersion;
  // Each version's tensors: the model file's own, narrowed by config.toml (which applies to all).
  const tensors = new Map<string, { inputs: TensorMeta[]; outputs: TensorMeta[] }>();
  try {
    for (const v of options.versions) {
      const session = ((prepared.get(v.version) as Runner[])[0] as Runner).session;
      const ins = tensorMetas(id, v.version, 'input', session.inputMetadata);
      const outs = tensorMetas(id, v.version, 'output', session.outputMetadata);
      tensors.set(v.version, {
        inputs: declared(id, v.version, 'input', ins, config.inputs, config.max_batch_size),
        outputs: declared(id, v.version, 'output', outs, config.outputs, config.max_batch_size),
      });
    }
  } catch (err) {
    await releaseAll(prepared);
    throw err;
  }
  const newest = tensors.get(latest.version) as { inputs: TensorMeta[]; outputs: TensorMeta[] };
  // A version whose tensors differ from the latest's has a schema of its own.
  const versionSchemas: Record<string, WrapperSchema> = {};
  for (const [version, t] of tensors) {
    if (!sameTensors(t.inputs, newest.inputs) || !sameTensors(t.outputs, newest.outputs)) {
      versionSchemas[version] = { input: specs(t.inputs), output: specs(t.outputs) };
    }
  }
  const fetches = new Map([...tensors].map(([version, t]) => [version, t.outputs.map((o) => o.name)]));
  const maxBatch = config.max_batch_size;
  return defineWrapper<OnnxState>({
    id,
    version: latest.version,
    versions: options.versions.map((v) => v.version),
    description:
      `ONNX model ${id} (versions ${options.versions.map((v) => v.version).join(', ')}) on ${providers.join(', ')}` +
      (cudaFailed === undefined ? '' : ` (CUDA parts installed, but the CUDA provider did not start: ${cudaFailed})`),
    schema: { input: specs(newest.inputs), output: specs(newest.outputs) },
    ...(Object.keys(versionSchemas).length === 0 ? {} : { versionSchemas }),
    ...(config.dynamic_batching === undefined
      ? {}
      : {
          batching: {
            maxBatchSize: maxBatch,
            maxQueueDelayMs: config.dynamic_batching.max_queue_delay_ms,
            preferredBatchSizes: config.dynamic_batching.preferred_batch_sizes,
          },
        }),
    async init(): Promise<OnnxState> {
      const state = prepared ?? (await createSessions(ort, options, providers));
      prepared = undefined;
      return state;
    },
    async exec(request, ctx) {
      const version = request.version ?? latest.version;
      const runners = ctx.state.get(version);
      const names = fetches.get(version);
      if (runners === undefined || names === undefined)
        throw new AigesError(Codes.SERVICE_NOT_FOUND, `model ${named(id)} has no version ${named(version)}`);
      const feeds: Record<string, Ort.Tensor> = {};
      for (const item of request.items) {
        const tensor = item.tensor;
        if (tensor === undefined) throw pluginError('invalid-data', `input ${named(item.key)} must be a tensor`);
        if (maxBatch > 0 && (tensor.shape[0] ?? 0) > maxBatch) {
          throw pluginError('invalid-data', `input ${named(item.key)}: batch of ${tensor.shape[0]} is over max_batch_size ${maxBatch}`);
        }
        feeds[item.key] = ortInput(ort, item.key, tensor.datatype as TensorDatatype, tensor.shape, item.data);
      }
      let runner = runners[0] as Runner;
      for (const r of runners) if (r.running < runner.running) runner = r;
      runner.running++;
      let results: Ort.InferenceSession.OnnxValueMapType;
      try {
        results = await runner.session.run(feeds, names);
      } finally {
        runner.running--;
      }
      return names.map((name) => outputItem(name, results[name] as Ort.Tensor));
    },
    async fini(state: OnnxState): Promise<void> {
      await releaseAll(state);
    },
  });
}
