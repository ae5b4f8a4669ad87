// Original file: proto/aiges/v1/loader.proto

import type { DataType as _aiges_v1_DataType, DataType__Output as _aiges_v1_DataType__Output } from '../../aiges/v1/DataType.js';
import type { DataStatus as _aiges_v1_DataStatus, DataStatus__Output as _aiges_v1_DataStatus__Output } from '../../aiges/v1/DataStatus.js';
import type { Long } from '@grpc/proto-loader';

/**
 * One unit of input or output data; mirrors an AIGes DataList node.
 */
export interface DataItem {
  'key'?: (string);
  'type'?: (_aiges_v1_DataType);
  'status'?: (_aiges_v1_DataStatus);
  /**
   * Free-form encoding name: "utf8", "raw", "pcm_s16le", "png", "json", ...
   */
  'encoding'?: (string);
  /**
   * Format attributes: sample_rate, channels, width, height, ...
   */
  'attributes'?: ({[key: string]: string});
  'data'?: (Buffer | Uint8Array | string);
  /**
   * Tensor view of `data` (Open Inference Protocol datatype names, e.g. FP32).
   * Empty when the item is not a tensor.
   */
  'datatype'?: (string);
  'shape'?: (number | string | Long)[];
}

/**
 * One unit of input or output data; mirrors an AIGes DataList node.
 */
export interface DataItem__Output {
  'key': (string);
  'type': (_aiges_v1_DataType__Output);
  'status': (_aiges_v1_DataStatus__Output);
  /**
   * Free-form encoding name: "utf8", "raw", "pcm_s16le", "png", "json", ...
   */
  'encoding': (string);
  /**
   * Format attributes: sample_rate, channels, width, height, ...
   */
  'attributes': ({[key: string]: string});
  'data': (Buffer);
  /**
   * Tensor view of `data` (Open Inference Protocol datatype names, e.g. FP32).
   * Empty when the item is not a tensor.
   */
  'datatype': (string);
  'shape': (number)[];
}
