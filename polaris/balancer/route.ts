/**
 * The balancer's routing key: the `service` field (number 1) of an InferRequest, SessionRequest
 * or MetadataRequest, read straight from the wire bytes. Nothing else of the message is decoded,
 * so payloads pass through the balancer untouched.
 */
import protobuf from 'protobufjs/minimal.js';

const SERVICE_FIELD = 1;
const LENGTH_DELIMITED = 2;

/**
 * The last `service` value in `bytes` (protobuf's rule for a repeated scalar field), '' when the
 * field is absent. Throws on bytes that are not a protobuf message.
 */
export function serviceOf(bytes: Buffer): string {
  const reader = protobuf.Reader.create(bytes);
  let service = '';
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === SERVICE_FIELD && (tag & 7) === LENGTH_DELIMITED) {
      // NOTE: not reader.string(): on a Buffer it clamps a length running past the end silently.
      const length = reader.uint32();
      const start = reader.pos;
      if (start + length > reader.len) throw new RangeError(`field 1 runs past the end of the message`);
      service = bytes.toString('utf8', start, start + length);
      reader.pos = start + length;
    } else reader.skipType(tag & 7);
  }
  return service;
}
