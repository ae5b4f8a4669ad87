/**
 * The V2 gRPC load target: unary inference.GRPCInferenceService/ModelInfer calls carrying one FP32
 * tensor [1, n] in raw_input_contents, all over one channel (one HTTP/2 connection), with a plain
 * grpc-js client from the same proto (as docs/examples/v2-grpc-tensor.ts). The answer must be one
 * raw output of `n` FP32 values, each `scale` times the input's.
 */
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProto } from '../../proto/load.js';
import type { ModelInferRequest } from '../../proto/gen/inference/ModelInferRequest.js';
import type { ModelInferResponse__Output } from '../../proto/gen/inference/ModelInferResponse.js';
import type { Target } from './load.js';

export interface V2TargetOptions {
  model: string;
  /** The model's input name (the output's name is not checked). */
  input: string;
  elements: number;
  /** The answer is the input times this (1: an echo). */
  scale: number;
}

export function v2GrpcTarget(port: number, o: V2TargetOptions): Target {
  const { GRPCInferenceService } = loadInferenceProto().inference;
  const client = new GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const x = Float32Array.from({ length: o.elements }, (_, i) => i / 4);
  const request: ModelInferRequest = {
    modelName: o.model,
    inputs: [{ name: o.input, datatype: 'FP32', shape: [1, o.elements] }],
    rawInputContents: [Buffer.from(x.buffer)],
  };
  const bytes = o.elements * 4;
  const infer = () =>
    new Promise<ModelInferResponse__Output>((resolve, reject) =>
      client.ModelInfer(request, (err, res) => (err ? reject(err) : resolve(res as ModelInferResponse__Output))),
    );
  return {
    async check() {
      const res = await infer();
      const raw = res.rawOutputContents[0];
      if (res.rawOutputContents.length !== 1 || raw?.length !== bytes) {
        throw new Error(`ModelInfer answered ${res.rawOutputContents.length} raw outputs, not one of ${bytes} bytes`);
      }
      // Copied out: a Buffer from the wire may start off the 4-byte alignment a Float32Array needs.
      const y = new Float32Array(new Uint8Array(raw).buffer);
      if (y.some((v, i) => v !== (x[i] as number) * o.scale)) throw new Error(`ModelInfer answered other values than ${o.scale} × x`);
    },
    async call() {
      const res = await infer();
      if (res.rawOutputContents[0]?.length !== bytes)
        throw new Error('ModelInfer answered something other than one tensor of the size sent');
    },
    async close() {
      client.close();
    },
  };
}
