/**
 * Loads the .proto sources at run time (with the same options the generated types in proto/gen
 * were made with) and gives typed service definitions and clients.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
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

/** The file of the Open Inference Protocol V2, under proto/. */
export const INFERENCE_PROTO = 'inference/grpc_service.proto';

/** The Open Inference Protocol V2 (`inference.GRPCInferenceService`). */
export function loadInferenceProto(): InferenceProto {
  inferenceProto ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(join(protoRoot(), INFERENCE_PROTO), PROTO_OPTIONS),
  ) as unknown as InferenceProto;
  return inferenceProto;
}

const roots = new Map<string, protobuf.Root>();

/**
 * protobufjs's encoder of message `type` of `file` (relative to proto/), without the conversion
 * (`fromObject`) proto-loader's serializers run on every message first. Only for values the
 * loader builds itself whose fields already have the wire's JS types: numbers or decimal strings
 * for 64-bit integers, numbers for enums, Buffers for bytes, strings for strings, plain objects
 * for messages and maps. The bytes are the ones proto-loader's serializer makes of the same
 * value (test/proto/encoder.test.ts), without a second object tree per message. The V2 adapter's
 * responses are such values; aiges.v1's are not (an item's attributes come from the plugin as it
 * returned them, and proto-loader's conversion is what turns a number among them into text).
 */
export function messageEncoder<T extends object>(file: string, type: string): (value: T) => Buffer {
  let root = roots.get(file);
  if (root === undefined) {
    // keepCase false: the camelCase field names proto-loader gives (PROTO_OPTIONS keeps its default).
    root = new protobuf.Root().loadSync(join(protoRoot(), file), { keepCase: false });
    root.resolveAll();
    roots.set(file, root);
  }
  const message = root.lookupType(type);
  return (value) => message.encode(value).finish() as Buffer;
}
