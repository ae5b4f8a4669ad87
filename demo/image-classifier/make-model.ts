/**
 * Writes the colour classifier into a model repository (default demo/image-classifier/models):
 * `<repo>/colour-net/1/model.onnx` and its config.toml. Built with onnx-proto (a dev dependency),
 * nothing downloaded.
 *
 * The graph: image FP32 [N, 3, 32, 32] → GlobalAveragePool → Flatten → Gemm (colours.ts) →
 * Softmax → probs FP32 [N, 4].
 *
 *   npx tsx demo/image-classifier/make-model.ts [repository]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxp from 'onnx-proto';
import { BIAS, LABELS, MODEL, SIZE, WEIGHTS } from './colours.js';

const { onnx } = onnxp;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** The model's config.toml: up to 8 images a run, concurrent calls merged (docs/models.md). */
export const CONFIG = `# The colour classifier (demo/image-classifier/make-model.ts writes this file).
max_batch_size = 8

[dynamic_batching]
max_queue_delay_ms = 5
`;

function tensorInfo(name: string, dims: (number | string)[]) {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

/** The model file's bytes (IR 8, opset 13). */
export function colourModel(): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'aiges-ts demo/image-classifier',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: MODEL,
      input: [tensorInfo('image', ['N', 3, SIZE, SIZE])],
      output: [tensorInfo('probs', ['N', LABELS.length])],
      node: [
        { name: 'mean', opType: 'GlobalAveragePool', input: ['image'], output: ['pooled'] },
        { name: 'flat', opType: 'Flatten', input: ['pooled'], output: ['colour'] },
        { name: 'score', opType: 'Gemm', input: ['colour', 'W', 'B'], output: ['logits'] },
        {
          name: 'softmax',
          opType: 'Softmax',
          input: ['logits'],
          output: ['probs'],
          attribute: [{ name: 'axis', i: 1, type: onnx.AttributeProto.AttributeType.INT }],
        },
      ],
      initializer: [
        { name: 'W', dims: [3, LABELS.length], dataType: FLOAT, floatData: [...WEIGHTS] },
        { name: 'B', dims: [LABELS.length], dataType: FLOAT, floatData: [...BIAS] },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Writes the model (version 1) and its config.toml under `repo`; returns the model's folder. */
export function writeColourModel(repo: string): string {
  const dir = join(repo, MODEL);
  mkdirSync(join(dir, '1'), { recursive: true });
  writeFileSync(join(dir, '1', 'model.onnx'), colourModel());
  writeFileSync(join(dir, 'config.toml'), CONFIG);
  return dir;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = process.argv[2] ?? fileURLToPath(new URL('models', import.meta.url));
  console.log(`wrote ${writeColourModel(repo)}`);
}
