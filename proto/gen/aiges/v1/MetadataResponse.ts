// Original file: proto/aiges/v1/loader.proto

import type { KeySpec as _aiges_v1_KeySpec, KeySpec__Output as _aiges_v1_KeySpec__Output } from '../../aiges/v1/KeySpec.js';

export interface MetadataResponse {
  'service'?: (string);
  'version'?: (string);
  'description'?: (string);
  'inputs'?: (_aiges_v1_KeySpec)[];
  'outputs'?: (_aiges_v1_KeySpec)[];
  /**
   * JSON Schema of the params object.
   */
  'paramsSchemaJson'?: (string);
  'supportsOnce'?: (boolean);
  'supportsSession'?: (boolean);
  'capacity'?: (number);
}

export interface MetadataResponse__Output {
  'service': (string);
  'version': (string);
  'description': (string);
  'inputs': (_aiges_v1_KeySpec__Output)[];
  'outputs': (_aiges_v1_KeySpec__Output)[];
  /**
   * JSON Schema of the params object.
   */
  'paramsSchemaJson': (string);
  'supportsOnce': (boolean);
  'supportsSession': (boolean);
  'capacity': (number);
}
