/**
 * The gRPC baseline: a bare grpc-js server for aiges.v1.Loader, from the same .proto with the
 * same proto-loader options and message limits as the loader.
 *   - Infer echoes the request's items.
 *   - Session answers each request carrying items with those items (status CONTINUE) and the
 *     client's half-close with an empty END message, as the loader serving demo/echo does, with
 *     no admission, no plugin and no logging.
 * Run as a child of the bench (`node --import tsx`); prints `{"port":N}`.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { loadLoaderProto } from '../../proto/load.js';
import type { LoaderHandlers } from '../../proto/gen/aiges/v1/Loader.js';

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

const server = new grpc.Server({
  'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
  'grpc.max_send_message_length': -1,
});
// Metadata and WatchLoad are left to grpc-js's UNIMPLEMENTED handler.
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
