// Original file: proto/inference/grpc_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A tensor's elements, typed; exclusive with the raw contents of the request or answer.
 */
export interface InferTensorContents {
  'boolContents'?: (boolean)[];
  /**
   * INT8, INT16, INT32.
   */
  'intContents'?: (number)[];
  'int64Contents'?: (number | string | Long)[];
  /**
   * UINT8, UINT16, UINT32.
   */
  'uintContents'?: (number)[];
  'uint64Contents'?: (number | string | Long)[];
  'fp32Contents'?: (number | string)[];
  'fp64Contents'?: (number | string)[];
  'bytesContents'?: (Buffer | Uint8Array | string)[];
}

/**
 * A tensor's elements, typed; exclusive with the raw contents of the request or answer.
 */
export interface InferTensorContents__Output {
  'boolContents': (boolean)[];
  /**
   * INT8, INT16, INT32.
   */
  'intContents': (number)[];
  'int64Contents': (number)[];
  /**
   * UINT8, UINT16, UINT32.
   */
  'uintContents': (number)[];
  'uint64Contents': (number)[];
  'fp32Contents': (number)[];
  'fp64Contents': (number)[];
  'bytesContents': (Buffer)[];
}
