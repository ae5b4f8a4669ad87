// Original file: proto/inference/grpc_service.proto

import type { DataType as _inference_DataType, DataType__Output as _inference_DataType__Output } from '../inference/DataType.js';
import type { Long } from '@grpc/proto-loader';

export interface ModelInput {
  'name'?: (string);
  'dataType'?: (_inference_DataType);
  /**
   * -1: a dimension of any size.
   */
  'dims'?: (number | string | Long)[];
}

export interface ModelInput__Output {
  'name': (string);
  'dataType': (_inference_DataType__Output);
  /**
   * -1: a dimension of any size.
   */
  'dims': (number)[];
}
