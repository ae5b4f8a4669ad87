/**
 * What the balancer forwards, and its routing key: the string field number 1 of a call's (first)
 * request message, read straight from the wire bytes. That field names the polaris service in
 * every method forwarded: aiges.v1's InferRequest, SessionRequest and MetadataRequest (`service`)
 * and the Open Inference Protocol V2's ModelInferRequest (`model_name`), ModelMetadataRequest,
 * ModelReadyRequest and ModelConfigRequest (`name`): a V2 model is a service the loader serves.
 * Nothing else of the message is decoded, so payloads pass through the balancer untouched.
 */
import protobuf from 'protobufjs/minimal.js';

const LENGTH_DELIMITED = 2;

/** How a forwarded method travels: one message each way, or a stream stuck to one instance. */
export interface Route {
  readonly mode: 'unary' | 'stream';
  /** The number of the request message's string field that names the service. */
  readonly field: number;
}

const UNARY: Route = { mode: 'unary', field: 1 };
const STREAM: Route = { mode: 'stream', field: 1 };

/**
 * The methods forwarded to instances, by HTTP/2 `:path`. Anything else (grpc.health.v1, V2's
 * ServerLive/ServerReady/ServerMetadata, unknown methods) is the balancer's own to answer.
 */
export const ROUTES: ReadonlyMap<string, Route> = new Map([
  ['/aiges.v1.Loader/Infer', UNARY],
  ['/aiges.v1.Loader/Metadata', UNARY],
  ['/aiges.v1.Loader/Session', STREAM],
  ['/inference.GRPCInferenceService/ModelInfer', UNARY],
  ['/inference.GRPCInferenceService/ModelMetadata', UNARY],
  ['/inference.GRPCInferenceService/ModelReady', UNARY],
  // NOTE: not ModelStatistics: its figures are one loader's, which an instance picked by load
  // would pass off as the model's; ask the loaders themselves.
  ['/inference.GRPCInferenceService/ModelConfig', UNARY],
  // NOTE: routed by its first message's model_name; later messages naming another model are
  // the instance's to answer (the stream is stuck to it).
  ['/inference.GRPCInferenceService/ModelStreamInfer', STREAM],
]);

/**
 * The last value of string field `field` in `bytes` (protobuf's rule for a repeated scalar
 * field), '' when the field is absent. Throws on bytes that are not a protobuf message.
 */
export function stringField(bytes: Buffer, field: number): string {
  const reader = protobuf.Reader.create(bytes);
  let value = '';
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === field && (tag & 7) === LENGTH_DELIMITED) {
      // NOTE: not reader.string(): on a Buffer it clamps a length running past the end silently.
      const length = reader.uint32();
      const start = reader.pos;
      if (start + length > reader.len) throw new RangeError(`field ${field} runs past the end of the message`);
      value = bytes.toString('utf8', start, start + length);
      reader.pos = start + length;
    } else reader.skipType(tag & 7);
  }
  return value;
}

/** The `service` field (number 1) of an aiges.v1 request. */
export function serviceOf(bytes: Buffer): string {
  return stringField(bytes, 1);
}
