// Original file: proto/aiges/v1/loader.proto

import type { DataType as _aiges_v1_DataType, DataType__Output as _aiges_v1_DataType__Output } from '../../aiges/v1/DataType.js';

/**
 * Declared input or output key of a plugin.
 */
export interface KeySpec {
  'key'?: (string);
  'type'?: (_aiges_v1_DataType);
  'required'?: (boolean);
  'description'?: (string);
  'encodings'?: (string)[];
}

/**
 * Declared input or output key of a plugin.
 */
export interface KeySpec__Output {
  'key': (string);
  'type': (_aiges_v1_DataType__Output);
  'required': (boolean);
  'description': (string);
  'encodings': (string)[];
}
