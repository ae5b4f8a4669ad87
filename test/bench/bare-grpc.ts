/**
 * The gRPC baseline: a bare grpc-js server for aiges.v1.Loader/Infer, from the same .proto with
 * the same proto-loader options and message limits as the loader, whose handler only echoes
 * the request's items. Run as a child of run.ts (`node --import tsx`); prints `{"port":N}`.
 */
import * as grpc from '@grpc/grpc-js';
import { loadLoaderProto } from '../../proto/load.js';
import type { LoaderHandlers } from '../../proto/gen/aiges/v1/Loader.js';

/** The loader's defaults: limits.max_message_bytes plus its 64 KiB envelope allowance. */
const MAX_RECEIVE_BYTES = 16 * 1024 * 1024 + 64 * 1024;

const handlers: Pick<LoaderHandlers, 'Infer'> = {
  Infer(call, callback) {
    callback(null, { items: call.request.items });
  },
};

const server = new grpc.Server({
  'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
  'grpc.max_send_message_length': -1,
});
// Session and Metadata are left to grpc-js's UNIMPLEMENTED handler.
server.addService(loadLoaderProto().aiges.v1.Loader.service, handlers as grpc.UntypedServiceImplementation);
server.bindAsync('0.0.0.0:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bare-grpc: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
