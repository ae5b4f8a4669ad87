// Original file: proto/aiges/v1/loader.proto

import type { DataItem as _aiges_v1_DataItem, DataItem__Output as _aiges_v1_DataItem__Output } from '../../aiges/v1/DataItem.js';
import type { DataStatus as _aiges_v1_DataStatus, DataStatus__Output as _aiges_v1_DataStatus__Output } from '../../aiges/v1/DataStatus.js';

/**
 * Results of a session, in order. The last message has status END.
 */
export interface SessionResponse {
  'items'?: (_aiges_v1_DataItem)[];
  'status'?: (_aiges_v1_DataStatus);
  /**
   * The session id assigned by the loader (set on every message).
   */
  'sid'?: (string);
}

/**
 * Results of a session, in order. The last message has status END.
 */
export interface SessionResponse__Output {
  'items': (_aiges_v1_DataItem__Output)[];
  'status': (_aiges_v1_DataStatus__Output);
  /**
   * The session id assigned by the loader (set on every message).
   */
  'sid': (string);
}
