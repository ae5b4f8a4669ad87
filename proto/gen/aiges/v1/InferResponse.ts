// Original file: proto/aiges/v1/loader.proto

import type { DataItem as _aiges_v1_DataItem, DataItem__Output as _aiges_v1_DataItem__Output } from '../../aiges/v1/DataItem.js';

export interface InferResponse {
  'items'?: (_aiges_v1_DataItem)[];
}

export interface InferResponse__Output {
  'items': (_aiges_v1_DataItem__Output)[];
}
