// Original file: proto/inference/grpc_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A count and the total duration in nanoseconds.
 */
export interface StatisticDuration {
  'count'?: (number | string | Long);
  'ns'?: (number | string | Long);
}

/**
 * A count and the total duration in nanoseconds.
 */
export interface StatisticDuration__Output {
  'count': (number);
  'ns': (number);
}
