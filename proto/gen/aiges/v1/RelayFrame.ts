// Original file: proto/aiges/v1/loader.proto


/**
 * One frame of Relay: a balancer (aiges lb) carries many Infer calls to one loader on one stream,
 * instead of one HTTP/2 stream per call. Each frame is one of these:
 * - balancer to loader, a call: id, request (its InferRequest message, uncompressed), timeout_ms;
 * - balancer to loader, a cancel: id, cancel = true (the client went away);
 * - loader to balancer, a success: id, response (the call's InferResponse message);
 * - loader to balancer, a failure: id, grpc_status (not 0), grpc_message, aiges_code.
 * The loader answers every call exactly once, in any order (a cancelled one with CANCELLED).
 * With AK/SK (docs/security.md), a call frame's `caller` names the access key whose signature the
 * balancer verified; a loader takes it only on a Relay stream signed by a key allowed to relay.
 */
export interface RelayFrame {
  /**
   * Chosen by the balancer; unique among its calls that are open on the stream.
   */
  'id'?: (number);
  'request'?: (Buffer | Uint8Array | string);
  /**
   * The call's deadline, in ms from when the loader reads the frame; 0: the loader's default.
   */
  'timeoutMs'?: (number);
  'cancel'?: (boolean);
  'response'?: (Buffer | Uint8Array | string);
  'grpcStatus'?: (number);
  'grpcMessage'?: (string);
  'aigesCode'?: (number);
  'caller'?: (string);
}

/**
 * One frame of Relay: a balancer (aiges lb) carries many Infer calls to one loader on one stream,
 * instead of one HTTP/2 stream per call. Each frame is one of these:
 * - balancer to loader, a call: id, request (its InferRequest message, uncompressed), timeout_ms;
 * - balancer to loader, a cancel: id, cancel = true (the client went away);
 * - loader to balancer, a success: id, response (the call's InferResponse message);
 * - loader to balancer, a failure: id, grpc_status (not 0), grpc_message, aiges_code.
 * The loader answers every call exactly once, in any order (a cancelled one with CANCELLED).
 * With AK/SK (docs/security.md), a call frame's `caller` names the access key whose signature the
 * balancer verified; a loader takes it only on a Relay stream signed by a key allowed to relay.
 */
export interface RelayFrame__Output {
  /**
   * Chosen by the balancer; unique among its calls that are open on the stream.
   */
  'id': (number);
  'request': (Buffer);
  /**
   * The call's deadline, in ms from when the loader reads the frame; 0: the loader's default.
   */
  'timeoutMs': (number);
  'cancel': (boolean);
  'response': (Buffer);
  'grpcStatus': (number);
  'grpcMessage': (string);
  'aigesCode': (number);
  'caller': (string);
}
