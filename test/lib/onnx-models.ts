/**
 * Small ONNX models built at test time (onnx-proto's protobufjs classes): nothing downloaded.
 * Each builder returns the model file's bytes; `writeModel` puts them in a repository layout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxp from 'onnx-proto';

const { onnx } = onnxp;
const T = onnx.TensorProto.DataType;

/** ONNX element types by ONNX Runtime's names. */
export const ELEMENT_TYPES = {
  float32: T.FLOAT,
  float64: T.DOUBLE,
  float16: T.FLOAT16,
  int8: T.INT8,
  int16: T.INT16,
  int32: T.INT32,
  int64: T.INT64,
  uint8: T.UINT8,
  uint16: T.UINT16,
  uint32: T.UINT32,
  uint64: T.UINT64,
  bool: T.BOOL,
  string: T.STRING,
} as const;
export type ElementType = keyof typeof ELEMENT_TYPES;

export interface ValueSpec {
  name: string;
  type: ElementType;
  /** Numbers are fixed dimensions, strings symbolic ones ("N"). */
  shape: (number | string)[];
}

function valueInfo(v: ValueSpec) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface GraphSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: { op: string; inputs: string[]; outputs: string[]; attributes?: { name: string; i: number }[] }[];
  /** FP32 constants: name → [dims, values]. */
  initializers?: Record<string, [number[], number[]]>;
}

/** A model (IR 8, opset 13) of one graph. */
export function buildModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'aiges-ts-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      node: spec.nodes.map((n, i) => ({
        name: `n${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: (n.attributes ?? []).map((a) => ({ name: a.name, i: a.i, type: onnx.AttributeProto.AttributeType.INT })),
      })),
      initializer: Object.entries(spec.initializers ?? {}).map(([name, [dims, values]]) => ({
        name,
        dims,
        dataType: T.FLOAT,
        floatData: values,
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** y = x, any element type and shape. */
export function identityModel(type: ElementType, shape: (number | string)[] = ['N']): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', type, shape }],
    outputs: [{ name: 'y', type, shape }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/** y = x * k (FP32, shape [N, width]): versions of a model that tell themselves apart by k. */
export function scaleModel(k: number, width = 2): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', type: 'float32', shape: ['N', width] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['N', width] }],
    nodes: [{ op: 'Mul', inputs: ['x', 'k'], outputs: ['y'] }],
    initializers: { k: [[], [k]] },
  });
}

/** probs = softmax(x · W) with W [4, 3] (row-major), x [N, 4]: a tiny classifier. */
export function classifierModel(w: number[]): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', type: 'float32', shape: ['N', 4] }],
    outputs: [{ name: 'probs', type: 'float32', shape: ['N', 3] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attributes: [{ name: 'axis', i: 1 }] },
    ],
    initializers: { W: [[4, 3], w] },
  });
}

/** Two inputs: sum = a + b (FP32 [N, 2]) and count = the INT64 element count passed through. */
export function twoInputModel(): Uint8Array {
  return buildModel({
    inputs: [
      { name: 'a', type: 'float32', shape: ['N', 2] },
      { name: 'b', type: 'float32', shape: ['N', 2] },
    ],
    outputs: [{ name: 'sum', type: 'float32', shape: ['N', 2] }],
    nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
  });
}

/** Writes `<repo>/<model>/<version>/model.onnx` (and the model's config.toml when given); returns the file. */
export function writeModel(repo: string, model: string, version: number | string, bytes: Uint8Array, config?: string): string {
  const dir = join(repo, model, String(version));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'model.onnx');
  writeFileSync(file, bytes);
  if (config !== undefined) writeFileSync(join(repo, model, 'config.toml'), config);
  return file;
}

/** The reference softmax(x · W) the classifier should give, computed here in plain JS. */
export function classify(x: number[], w: number[]): number[] {
  const rows = x.length / 4;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const logits = [0, 1, 2].map((c) => [0, 1, 2, 3].reduce((s, i) => s + (x[r * 4 + i] as number) * (w[i * 3 + c] as number), 0));
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const sum = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / sum));
  }
  return out;
}
