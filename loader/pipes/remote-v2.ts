/**
 * `ctx.infer` over the Open Inference Protocol V2 gRPC (`protocol: 'v2'`): to any V2 server
 * (another aiges loader, Triton, KServe, MLServer). Items ↔ tensors as the loader's own V2 adapter
 * maps them (docs/v2.md): a tensor item is that tensor, its data sent as raw contents (no copy); a
 * plain item is a BYTES tensor of one element, and such an output comes back as a plain item. The
 * item's encoding and attributes travel as tensor parameters; params as string parameters.
 * Outputs must come as raw contents (what Triton and aiges loaders send over gRPC).
 */
import type * as grpc from '@grpc/grpc-js';
import { loadInferenceProto } from '../../proto/load.js';
import { signedClient } from '../lib/grpc-sign.js';
import { channelCredentials, type RemoteOptions } from './remote-options.js';
import type { GRPCInferenceServiceClient } from '../../proto/gen/inference/GRPCInferenceService.js';
import type { InferParameter__Output } from '../../proto/gen/inference/InferParameter.js';
import type { ModelInferRequest } from '../../proto/gen/inference/ModelInferRequest.js';
import type { ModelInferResponse__Output } from '../../proto/gen/inference/ModelInferResponse.js';
import { bytesElements, elementCount, tensorData } from '../../plugins/tensor.js';
import { DataStatus, DataType, type DataItem } from '../../plugins/types.js';
import { AigesError, Codes, named } from '../errors.js';

export function v2Client(address: string, tls: boolean, channel: grpc.ChannelOptions, options: RemoteOptions): GRPCInferenceServiceClient {
  const Client = loadInferenceProto().inference.GRPCInferenceService;
  return signedClient<GRPCInferenceServiceClient>(Client, address, channelCredentials(tls, options), channel, options.credentials);
}

export function v2Request(model: string, items: readonly DataItem[], params: Readonly<Record<string, string>>): ModelInferRequest {
  const parameters: Record<string, { stringParam: string }> = {};
  for (const [name, value] of Object.entries(params)) parameters[name] = { stringParam: value };
  return {
    modelName: model,
    parameters,
    inputs: items.map((item) => {
      const tensorParameters: Record<string, { stringParam: string }> = {};
      if (item.encoding !== '') tensorParameters['encoding'] = { stringParam: item.encoding };
      for (const [name, value] of Object.entries(item.attributes)) tensorParameters[name] = { stringParam: value };
      const tensor = item.tensor ?? { datatype: 'BYTES', shape: [1] };
      return { name: item.key, datatype: tensor.datatype, shape: tensor.shape, parameters: tensorParameters };
    }),
    rawInputContents: items.map((item) => (item.tensor === undefined ? tensorData([item.data]) : item.data)),
  };
}

function parameterText(p: InferParameter__Output): string {
  const choice = p.parameterChoice;
  return choice === undefined ? '' : String(p[choice]);
}

export function v2Answer(response: ModelInferResponse__Output): DataItem[] {
  return response.outputs.map((output, i) => {
    const raw = response.rawOutputContents[i];
    if (raw === undefined) {
      throw new AigesError(Codes.INVALID_OUTPUT, `V2 output ${named(output.name)} came without raw contents (typed contents are not read)`);
    }
    let encoding = '';
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(output.parameters)) {
      if (name === 'encoding') encoding = parameterText(value);
      else if (name !== 'binary_data_size') attributes[name] = parameterText(value);
    }
    const item: DataItem = { key: output.name, type: DataType.OTHER, status: DataStatus.ONCE, encoding, attributes, data: raw };
    const shape = output.shape.map(Number);
    const one = output.datatype === 'BYTES' && elementCount(shape) === 1 ? bytesElements(raw) : undefined;
    if (one?.length === 1) item.data = one[0] as Buffer;
    else item.tensor = { datatype: output.datatype, shape };
    return item;
  });
}
