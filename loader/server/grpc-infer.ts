/**
 * The one path of an aiges.v1 Infer call, shared by the Infer method and the balancer's Relay
 * frames: wire request → domain request → data plane → serialized InferResponse bytes. Only how
 * the request arrives and how the bytes leave differ between the two.
 */
import type { CallOptions, Dataplane } from '../dataplane/dataplane.js';
import type { InferRequest__Output } from '../../proto/gen/aiges/v1/InferRequest.js';
import type { InferResponse } from '../../proto/gen/aiges/v1/InferResponse.js';
import type { DataItem } from '../../plugins/types.js';
import { itemFromWire, itemToWire } from './grpc-convert.js';

/** Infer's message codec (the proto-loader method definition's). */
export interface InferCodec {
  requestDeserialize(bytes: Buffer): InferRequest__Output;
  responseSerialize(value: InferResponse): Buffer;
}

/** Runs one Infer request; resolves with the serialized response, rejects with an AigesError. */
export function inferOnWire(dataplane: Dataplane, codec: InferCodec, req: InferRequest__Output, options: CallOptions): Promise<Buffer> {
  let items: DataItem[];
  try {
    items = req.items.map(itemFromWire);
  } catch (err) {
    return Promise.reject(err);
  }
  return dataplane.infer(
    { service: req.service, params: req.params, headers: req.headers, items },
    {
      deadline: options.deadline,
      onCancel: options.onCancel,
      caller: options.caller,
      encode: (out) => codec.responseSerialize({ items: out.map(itemToWire) }),
    },
  );
}
