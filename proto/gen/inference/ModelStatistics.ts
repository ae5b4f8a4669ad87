// Original file: proto/inference/grpc_service.proto

import type { InferStatistics as _inference_InferStatistics, InferStatistics__Output as _inference_InferStatistics__Output } from '../inference/InferStatistics.js';
import type { Long } from '@grpc/proto-loader';

export interface ModelStatistics {
  'name'?: (string);
  'version'?: (string);
  /**
   * Epoch ms of the last inference (0: none yet).
   */
  'lastInference'?: (number | string | Long);
  'inferenceCount'?: (number | string | Long);
  'executionCount'?: (number | string | Long);
  'inferenceStats'?: (_inference_InferStatistics | null);
}

export interface ModelStatistics__Output {
  'name': (string);
  'version': (string);
  /**
   * Epoch ms of the last inference (0: none yet).
   */
  'lastInference': (number);
  'inferenceCount': (number);
  'executionCount': (number);
  'inferenceStats': (_inference_InferStatistics__Output | null);
}
