// Original file: proto/inference/grpc_service.proto

import type { ModelInferResponse as _inference_ModelInferResponse, ModelInferResponse__Output as _inference_ModelInferResponse__Output } from '../inference/ModelInferResponse.js';

/**
 * One answer on a ModelStreamInfer stream: an error (the stream stays open) or a response.
 */
export interface ModelStreamInferResponse {
  'errorMessage'?: (string);
  'inferResponse'?: (_inference_ModelInferResponse | null);
}

/**
 * One answer on a ModelStreamInfer stream: an error (the stream stays open) or a response.
 */
export interface ModelStreamInferResponse__Output {
  'errorMessage': (string);
  'inferResponse': (_inference_ModelInferResponse__Output | null);
}
