// Original file: proto/inference/grpc_service.proto

import type { ModelInput as _inference_ModelInput, ModelInput__Output as _inference_ModelInput__Output } from '../inference/ModelInput.js';
import type { ModelOutput as _inference_ModelOutput, ModelOutput__Output as _inference_ModelOutput__Output } from '../inference/ModelOutput.js';

export interface ModelConfig {
  'name'?: (string);
  'platform'?: (string);
  /**
   * 0: the model does not batch (dims are whole shapes).
   */
  'maxBatchSize'?: (number);
  'input'?: (_inference_ModelInput)[];
  'output'?: (_inference_ModelOutput)[];
  'backend'?: (string);
}

export interface ModelConfig__Output {
  'name': (string);
  'platform': (string);
  /**
   * 0: the model does not batch (dims are whole shapes).
   */
  'maxBatchSize': (number);
  'input': (_inference_ModelInput__Output)[];
  'output': (_inference_ModelOutput__Output)[];
  'backend': (string);
}
