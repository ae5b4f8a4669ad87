/**
 * Loads the .proto sources at run time (with the same options the generated types in proto/gen
 * were made with) and gives typed service definitions and clients.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as LoaderProto } from './gen/loader.js';
import type { ProtoGrpcType as HealthProto } from './gen/health.js';
import type { ProtoGrpcType as InferenceProto } from './gen/grpc_service.js';

export type { LoaderProto, HealthProto, InferenceProto };

/** The options proto/gen was generated with (package.json "proto:gen"): keep them in step. */
export const PROTO_OPTIONS: protoLoader.Options = { longs: Number, defaults: true, oneofs: true };

/** The folder holding the .proto files, from source (proto/) or from the build (dist/proto/). */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'aiges/v1/loader.proto'))) return dir;
    if (existsSync(join(dir, 'proto/aiges/v1/loader.proto'))) return join(dir, 'proto');
    dir = dirname(dir);
  }
  throw new Error('cannot find proto/aiges/v1/loader.proto');
}

let loaderProto: LoaderProto | undefined;
let healthProto: HealthProto | undefined;

export function loadLoaderProto(): LoaderProto {
  loaderProto ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(join(protoRoot(), 'aiges/v1/loader.proto'), PROTO_OPTIONS),
  ) as unknown as LoaderProto;
  return loaderProto;
}

export function loadHealthProto(): HealthProto {
  healthProto ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(join(protoRoot(), 'grpc/health/v1/health.proto'), PROTO_OPTIONS),
  ) as unknown as HealthProto;
  return healthProto;
}

let inferenceProto: InferenceProto | undefined;

/** The Open Inference Protocol V2 (`inference.GRPCInferenceService`). */
export function loadInferenceProto(): InferenceProto {
  inferenceProto ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(join(protoRoot(), 'inference/grpc_service.proto'), PROTO_OPTIONS),
  ) as unknown as InferenceProto;
  return inferenceProto;
}
