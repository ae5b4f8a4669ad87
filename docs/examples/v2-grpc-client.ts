/**
 * A V2 gRPC client of a loader or of `aiges lb` (docs/v2.md, "Through aiges lb"): the server's
 * metadata, then one ModelInfer of demo/echo. From the checkout:
 *
 *   npx tsx docs/examples/v2-grpc-client.ts 127.0.0.1:5080 echo hello
 *
 * Any client generated from the upstream grpc_service.proto works the same way.
 */
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProto } from '../../proto/load.js';

const [address = '127.0.0.1:5080', model = 'echo', text = 'hello'] = process.argv.slice(2);
const { GRPCInferenceService } = loadInferenceProto().inference;
const client = new GRPCInferenceService(address, grpc.credentials.createInsecure());

client.ServerMetadata({}, (err, server) => {
  if (err) throw err;
  console.log('server:', server?.name, server?.version);
  const inputs = [{ name: 'text', datatype: 'BYTES', shape: [1], contents: { bytesContents: [Buffer.from(text)] } }];
  client.ModelInfer({ modelName: model, inputs }, (err, res) => {
    if (err) throw err;
    // Typed contents in, typed contents out: the BYTES element in bytes_contents.
    const text = res?.outputs[0]?.contents?.bytesContents[0] as Buffer;
    console.log(`${res?.modelName}:`, text.toString());
    client.close();
  });
});
