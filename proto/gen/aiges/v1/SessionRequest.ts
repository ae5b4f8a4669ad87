// Original file: proto/aiges/v1/loader.proto

import type { DataItem as _aiges_v1_DataItem, DataItem__Output as _aiges_v1_DataItem__Output } from '../../aiges/v1/DataItem.js';

/**
 * A session stream: the first message carries `service` and `params`
 * (and may carry items); later messages carry `items` only. The client's
 * half-close ends the input.
 */
export interface SessionRequest {
  'service'?: (string);
  'params'?: ({[key: string]: string});
  'headers'?: ({[key: string]: string});
  'items'?: (_aiges_v1_DataItem)[];
}

/**
 * A session stream: the first message carries `service` and `params`
 * (and may carry items); later messages carry `items` only. The client's
 * half-close ends the input.
 */
export interface SessionRequest__Output {
  'service': (string);
  'params': ({[key: string]: string});
  'headers': ({[key: string]: string});
  'items': (_aiges_v1_DataItem__Output)[];
}
