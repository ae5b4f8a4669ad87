/**
 * The gRPC baseline: a bare grpc-js server for aiges.v1.Loader, from the same .proto with the
 * same proto-loader options and message limits as the loader.
 *   - Infer echoes the request's items.
 *   - Session answers each request carrying items with those items (status CONTINUE) and the
 *     client's half-close with an empty END message, as the loader serving demo/echo does, with
 *     no admission, no plugin and no logging.
 * And a bare inference.GRPCInferenceService (proto/inference/grpc_service.proto) whose ModelInfer
 * answers every input tensor as an output of the same name, datatype and shape, its
 * raw_input_contents as raw_output_contents: the loader serving demo/echo over V2 does the same.
 * Run as a child of the bench (`node --import tsx`); prints `{"port":N}`.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProto, loadLoaderProto } from '../../proto/load.js';
import type { LoaderHandlers } from '../../proto/gen/aiges/v1/Loader.js';
import type { GRPCInferenceServiceHandlers } from '../../proto/gen/inference/GRPCInferenceService.js';

/** The loader's defaults: limits.max_message_bytes plus its 64 KiB envelope allowance. */
const MAX_RECEIVE_BYTES = 16 * 1024 * 1024 + 64 * 1024;
const CONTINUE = 1;
const END = 2;

const handlers: Pick<LoaderHandlers, 'Infer' | 'Session'> = {
  Infer(call, callback) {
    callback(null, { items: call.request.items });
  },
  Session(call) {
    const sid = randomUUID();
    call.on('data', (request) => {
      if (request.items.length > 0) call.write({ items: request.items, status: CONTINUE, sid });
    });
    call.on('end', () => {
      call.write({ items: [], status: END, sid });
      call.end();
    });
    // A cancelled stream needs nothing more from us.
    call.on('error', () => undefined);
  },
};

const v2Handlers: Pick<GRPCInferenceServiceHandlers, 'ModelInfer'> = {
  ModelInfer(call, callback) {
    const req = call.request;
    callback(null, {
      modelName: req.modelName,
      modelVersion: '1',
      id: req.id,
      outputs: req.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
      rawOutputContents: req.rawInputContents,
    });
  },
};

const server = new grpc.Server({
  'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
  'grpc.max_send_message_length': -1,
});
// Metadata and WatchLoad are left to grpc-js's UNIMPLEMENTED handler.
server.addService(loadLoaderProto().aiges.v1.Loader.service, handlers as grpc.UntypedServiceImplementation);
// The other V2 methods are left to grpc-js's UNIMPLEMENTED handler.
server.addService(loadInferenceProto().inference.GRPCInferenceService.service, v2Handlers as grpc.UntypedServiceImplementation);
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
