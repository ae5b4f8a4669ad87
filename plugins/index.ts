/**
 * The aiges-ts plugin SDK: what wrapper authors import (`import { defineWrapper } from 'aiges-ts'`).
 */
export { defineWrapper, isWrapper } from './define.js';
export { ResultQueue } from './result-queue.js';
export { AigesError, type AigesCode, Codes, isAigesError, pluginError } from './errors.js';
export {
  DataType,
  DataStatus,
  type DataItem,
  type OutputItem,
  type InferRequest,
  type Params,
  type ParamValue,
  type ParamSpec,
  type ItemSpec,
  type WrapperSchema,
  type WrapperConfig,
  type WrapperDefinition,
  type WrapperSession,
  type Wrapper,
  type InitContext,
  type CallContext,
  type Logger,
  type SessionResult,
  type TensorInfo,
  type BatchingSettings,
} from './types.js';
export {
  TENSOR_DATATYPES,
  type TensorDatatype,
  type NumericDatatype,
  type TensorArray,
  bytesElements,
  elementCount,
  tensorData,
  tensorView,
  typedArrayOf,
} from './tensor.js';
export {
  signRequest,
  newNonce,
  contentSha256,
  grpcPathAndQuery,
  NONCE_METADATA,
  type AkSkCredentials,
  type RequestToSign,
  type SignatureHeaders,
} from './aksk.js';
