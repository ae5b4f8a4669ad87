// Original file: proto/aiges/v1/loader.proto

import type { DataItem as _aiges_v1_DataItem, DataItem__Output as _aiges_v1_DataItem__Output } from '../../aiges/v1/DataItem.js';

export interface InferRequest {
  /**
   * The service id the loader serves (the plugin's id).
   */
  'service'?: (string);
  'params'?: ({[key: string]: string});
  'headers'?: ({[key: string]: string});
  'items'?: (_aiges_v1_DataItem)[];
}

export interface InferRequest__Output {
  /**
   * The service id the loader serves (the plugin's id).
   */
  'service': (string);
  'params': ({[key: string]: string});
  'headers': ({[key: string]: string});
  'items': (_aiges_v1_DataItem__Output)[];
}
