/**
 * A V2 gRPC client that sends one FP32 tensor [1, n] to a model (docs/models.md, "Through aiges
 * lb"), raw, and prints the first output's elements. From the checkout:
 *
 *   npx tsx docs/examples/v2-grpc-tensor.ts 127.0.0.1:5080 double 1 2 3
 */
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProto } from '../../proto/load.js';

const [address = '127.0.0.1:5080', model = 'double', ...values] = process.argv.slice(2);
const x = new Float32Array(values.map(Number));
const { GRPCInferenceService } = loadInferenceProto().inference;
const client = new GRPCInferenceService(address, grpc.credentials.createInsecure());

const inputs = [{ name: 'x', datatype: 'FP32', shape: [1, x.length] }];
client.ModelInfer({ modelName: model, inputs, rawInputContents: [Buffer.from(x.buffer)] }, (err, res) => {
  if (err) throw err;
  const raw = res?.rawOutputContents[0] as Buffer;
  // Copied out: a Buffer from the wire may start off the 4-byte alignment a Float32Array needs.
  const y = new Float32Array(new Uint8Array(raw).buffer);
  console.log(`${res?.modelName} v${res?.modelVersion}:`, [...y].join(' '));
  client.close();
});
