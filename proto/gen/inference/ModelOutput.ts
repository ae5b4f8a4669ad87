// Original file: proto/inference/grpc_service.proto

import type { DataType as _inference_DataType, DataType__Output as _inference_DataType__Output } from '../inference/DataType.js';
import type { Long } from '@grpc/proto-loader';

export interface ModelOutput {
  'name'?: (string);
  'dataType'?: (_inference_DataType);
  'dims'?: (number | string | Long)[];
}

export interface ModelOutput__Output {
  'name': (string);
  'dataType': (_inference_DataType__Output);
  'dims': (number)[];
}
