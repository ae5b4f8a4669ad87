import { Metadata, type ServerErrorResponse } from '@grpc/grpc-js';
import { grpcStatusOf, toAigesError } from '../errors.js';

/** The gRPC form of any error: the catalog's status, message, and `aiges-code` trailer. */
export function grpcError(err: unknown): ServerErrorResponse {
  const error = toAigesError(err);
  const metadata = new Metadata();
  metadata.set('aiges-code', String(error.aigesCode));
  return Object.assign(new Error(error.message), { code: grpcStatusOf(error.aigesCode), details: error.message, metadata });
}
