/**
 * The Open Inference Protocol V2 over gRPC, `inference.GRPCInferenceService`, beside `aiges.v1`
 * on the loader's gRPC port and through the same data plane (docs/v2.md). Conversion only: the
 * tensor codec (v2-tensors.ts) and the tensor ↔ item mapping (v2-items.ts) are REST's.
 *
 * ModelInfer takes each input's data from `raw_input_contents` (all inputs, in order) or from its
 * typed `contents`, never both, and answers in the same form: `raw_output_contents` for a request
 * that sent raw contents, typed `contents` for one that sent typed contents (raw all the same
 * when an output is FP16 or BF16, which have no typed form). ModelStreamInfer is
 * grpc-v2-stream.ts's, on the same conversions.
 */
import type * as grpc from '@grpc/grpc-js';
import { AigesError, Codes } from '../errors.js';
import type { CallOptions, Dataplane, ServiceMetadata } from '../dataplane/dataplane.js';
import type { HealthState } from '../health.js';
import type { DataItem } from '../../plugins/types.js';
import type { GRPCInferenceServiceHandlers } from '../../proto/gen/inference/GRPCInferenceService.js';
import type { InferParameter__Output } from '../../proto/gen/inference/InferParameter.js';
import type { ModelInferRequest__Output } from '../../proto/gen/inference/ModelInferRequest.js';
import type {
  _inference_ModelInferResponse_InferOutputTensor as InferOutputTensor,
  ModelInferResponse,
} from '../../proto/gen/inference/ModelInferResponse.js';
import { callerOf } from './grpc-auth.js';
import type { StreamInferCall } from './grpc-v2-stream.js';
import { extensionsWith, type RepositoryControl, repositoryIndex, repositoryLoad, repositoryUnload } from './v2-repository.js';
import { grpcError } from './grpc-errors.js';
import {
  checkRequestedOutputs,
  checkVersion,
  inputItem,
  type InputTensor,
  modelConfig,
  modelMetadata,
  modelVersion,
  outputTensor,
  type ParameterValue,
  refuseSequence,
  requestParams,
  requestVersion,
  SERVER_NAME,
  timeoutDeadline,
  V2_EXTENSIONS,
} from './v2-items.js';
import { grpcStatistics, statisticsOf } from './v2-stats.js';
import { bytesRaw, checkRaw, datatypeOf, fromContents, shapeOf, toContents } from './v2-tensors.js';

export interface V2GrpcDeps {
  dataplane: Dataplane;
  health: HealthState;
  version: string;
  /** The model repository, if the loader has one. */
  models?: RepositoryControl | undefined;
  /** The malformed-message check of the gRPC adapter (grpc.ts). */
  malformed: (value: unknown) => AigesError | undefined;
  /** The client's deadline and cancel, as grpc.ts reads them. */
  callOptions: (call: grpc.ServerUnaryCall<unknown, unknown>) => CallOptions;
  /** Serves one ModelStreamInfer call (grpc-v2-stream.ts). */
  streamInfer: (call: StreamInferCall) => void;
}

/** ModelInfer's response encoder (grpc.ts: proto/load.ts messageEncoder). */
export interface ModelInferCodec {
  responseSerialize(value: ModelInferResponse): Buffer;
}

function parameterValue(p: InferParameter__Output): ParameterValue {
  switch (p.parameterChoice) {
    case 'boolParam':
      return p.boolParam as boolean;
    case 'int64Param':
      return p.int64Param as number;
    case 'uint64Param':
      return p.uint64Param as number;
    case 'doubleParam':
      return p.doubleParam as number;
    default:
      return p.stringParam ?? '';
  }
}

/** What a message without parameters has: one shared object, never written to. */
const NO_PARAMETERS: Readonly<Record<string, ParameterValue>> = Object.freeze({});

export function parametersOf(map: Record<string, InferParameter__Output> | undefined): Readonly<Record<string, ParameterValue>> {
  let out: Record<string, ParameterValue> | undefined;
  for (const name in map) if (name !== '__proto__') (out ??= {})[name] = parameterValue(map[name] as InferParameter__Output);
  return out ?? NO_PARAMETERS;
}

/** The request's inputs as tensors, each made an item: raw contents for all, or typed contents for each. */
function inputs(meta: ServiceMetadata, req: ModelInferRequest__Output): DataItem[] {
  const raw = req.rawInputContents;
  if (raw.length > 0 && raw.length !== req.inputs.length) {
    throw new AigesError(Codes.INVALID_DATA, `raw_input_contents holds ${raw.length} tensors for ${req.inputs.length} inputs`);
  }
  if (req.inputs.length === 0) throw new AigesError(Codes.INVALID_DATA, 'inputs must not be empty');
  return req.inputs.map((input, i): DataItem => {
    const name = input.name;
    const datatype = datatypeOf(name, input.datatype);
    const shape = shapeOf(name, input.shape);
    let data: Buffer;
    if (raw.length > 0) {
      if (input.contents !== null && hasContents(input.contents)) {
        throw new AigesError(Codes.INVALID_DATA, `tensor "${name}": raw_input_contents and contents are exclusive`);
      }
      data = raw[i] as Buffer;
      checkRaw(name, datatype, shape, data);
    } else data = fromContents(name, datatype, shape, input.contents ?? emptyContents());
    const tensor: InputTensor = { name, datatype, shape, data, parameters: parametersOf(input.parameters) };
    return inputItem(meta, tensor);
  });
}

function hasContents(c: NonNullable<ModelInferRequest__Output['inputs'][number]['contents']>): boolean {
  return (
    c.boolContents.length + c.intContents.length + c.int64Contents.length + c.uintContents.length + c.uint64Contents.length > 0 ||
    c.fp32Contents.length + c.fp64Contents.length + c.bytesContents.length > 0
  );
}

function emptyContents() {
  return {
    boolContents: [],
    intContents: [],
    int64Contents: [],
    uintContents: [],
    uint64Contents: [],
    fp32Contents: [],
    fp64Contents: [],
    bytesContents: [],
  };
}

/** The deadline of a call: the client's, or the request's `timeout` parameter when sooner. */
export function callDeadline(parameters: Readonly<Record<string, ParameterValue>>, client: number | undefined): number | undefined {
  const timeout = timeoutDeadline(parameters);
  return client === undefined ? timeout : timeout === undefined ? client : Math.min(client, timeout);
}

/** What a request that names no outputs asks for: one shared list, never written to. */
const ALL_OUTPUTS: readonly string[] = Object.freeze([]);

/** The output names a request asks for (checked); empty: all of them. */
export function requestedOutputs(meta: ServiceMetadata, req: ModelInferRequest__Output): readonly string[] {
  if (req.outputs.length === 0) return ALL_OUTPUTS;
  const requested = req.outputs.map((o) => o.name);
  checkRequestedOutputs(meta, requested);
  return requested;
}

/** A request's inputs as items, and the output names it asks for (checked). */
export function requestItems(meta: ServiceMetadata, req: ModelInferRequest__Output): { items: DataItem[]; requested: readonly string[] } {
  const requested = requestedOutputs(meta, req);
  return { items: inputs(meta, req), requested };
}

/** Whether a request sent its inputs as typed contents: its answer then comes typed too. */
export function sentTyped(req: ModelInferRequest__Output): boolean {
  return req.rawInputContents.length === 0;
}

/**
 * Output items → a ModelInferResponse; only the `requested` ones when any are. Outputs typed
 * when `typed` and every one has a typed form, else all raw: raw_output_contents holds every
 * output or none. Every field in the wire's own types (grpc.ts encodes it as it is); empty maps
 * are left out, which encodes the same.
 */
export function inferResponse(
  meta: ServiceMetadata,
  out: readonly DataItem[],
  id: string,
  requested: readonly string[],
  parameters?: ModelInferResponse['parameters'],
  typed = false,
): ModelInferResponse {
  let tensors = out.map(outputTensor);
  if (requested.length > 0) tensors = requested.flatMap((name) => tensors.filter((t) => t.name === name));
  const outputs: InferOutputTensor[] = [];
  const raw: Buffer[] = [];
  for (const t of tensors) {
    const output: InferOutputTensor = { name: t.name, datatype: t.datatype, shape: t.shape };
    for (const name in t.parameters) (output.parameters ??= {})[name] = { stringParam: String(t.parameters[name]) };
    outputs.push(output);
    const data = t.elements !== undefined ? Buffer.concat(bytesRaw(t.elements)) : (t.data as Buffer);
    if (t.elements === undefined) {
      try {
        checkRaw(t.name, t.datatype, t.shape, data);
      } catch (err) {
        throw new AigesError(Codes.INVALID_OUTPUT, `output "${t.name}": ${(err as Error).message}`);
      }
    }
    raw.push(data);
  }
  const response: ModelInferResponse = { modelName: meta.service, modelVersion: modelVersion(meta), id, outputs, rawOutputContents: raw };
  if (parameters !== undefined) response.parameters = parameters;
  if (typed) {
    const contents = tensors.map((t, i) => toContents(t.datatype, raw[i] as Buffer));
    if (!contents.includes(undefined)) {
      outputs.forEach((o, i) => {
        o.contents = contents[i];
      });
      response.rawOutputContents = [];
    }
  }
  return response;
}

/** One ModelInfer: wire → items, the data plane's once call, items → serialized response. */
export function modelInfer(
  dataplane: Pick<Dataplane, 'infer'>,
  codec: ModelInferCodec,
  meta: ServiceMetadata,
  req: ModelInferRequest__Output,
  options: CallOptions,
): Promise<Buffer> {
  const parameters = parametersOf(req.parameters);
  refuseSequence(parameters, 'ModelInfer');
  const requested = requestedOutputs(meta, req);
  const items = inputs(meta, req);
  const params = requestParams(parameters, req.id);
  // Serialized here: the plugin may take its output memory back once the answer is encoded.
  const encode = (out: DataItem[], sid: string): Buffer =>
    codec.responseSerialize(inferResponse(meta, out, req.id === '' ? sid : req.id, requested, undefined, sentTyped(req)));
  return dataplane.infer(
    { service: meta.service, params, headers: {}, items, version: requestVersion(meta) },
    { deadline: callDeadline(parameters, options.deadline), caller: options.caller, onCancel: options.onCancel, encode },
  );
}

export function v2Handlers(deps: V2GrpcDeps, codec: ModelInferCodec): GRPCInferenceServiceHandlers {
  const { dataplane, health, malformed } = deps;
  const metaOf = (call: grpc.ServerUnaryCall<unknown, unknown>, name: string, version: string): ServiceMetadata => {
    return checkVersion(dataplane.metadata(name, callerOf(call.metadata)), version);
  };
  /** A repository load or unload: answered once it is done. */
  const repositoryCall = (
    call: grpc.ServerUnaryCall<{ modelName: string }, object>,
    callback: grpc.sendUnaryData<object>,
    op: typeof repositoryLoad,
  ): void => {
    let done: Promise<void>;
    try {
      const bad = malformed(call.request);
      if (bad !== undefined) throw bad;
      done = op(deps.models, call.request.modelName, callerOf(call.metadata));
    } catch (err) {
      return callback(grpcError(err));
    }
    done.then(
      () => callback(null, {}),
      (err: unknown) => callback(grpcError(err)),
    );
  };
  /** A unary handler: a malformed request is 10009, a thrown error its catalog status. */
  const unary =
    <Req, Res>(answer: (call: grpc.ServerUnaryCall<Req, Res>) => Res) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      try {
        const bad = malformed(call.request);
        if (bad !== undefined) throw bad;
        callback(null, answer(call));
      } catch (err) {
        callback(grpcError(err));
      }
    };
  return {
    ServerLive: unary(() => ({ live: health.live })),
    ServerReady: unary(() => ({ ready: health.ready })),
    ModelReady: unary((call) => ({ ready: health.ready && metaOf(call as never, call.request.name, call.request.version).ready })),
    ServerMetadata: unary(() => ({ name: SERVER_NAME, version: deps.version, extensions: extensionsWith(V2_EXTENSIONS, deps.models) })),
    ModelMetadata: unary((call) => modelMetadata(metaOf(call as never, call.request.name, call.request.version))),
    ModelInfer(call, callback) {
      let answer: Promise<Buffer>;
      try {
        const bad = malformed(call.request);
        if (bad !== undefined) throw bad;
        const meta = metaOf(call as never, call.request.modelName, call.request.modelVersion);
        answer = modelInfer(dataplane, codec, meta, call.request, deps.callOptions(call as never));
      } catch (err) {
        return callback(grpcError(err));
      }
      answer.then(
        // Serialized already (grpc.ts's tolerantService sends a Buffer as is).
        (bytes) => callback(null, bytes as never),
        (err: unknown) => callback(grpcError(err)),
      );
    },
    ModelStreamInfer: deps.streamInfer,
    ModelStatistics: unary((call) => {
      const stats = statisticsOf(dataplane, call.request.name, call.request.version, callerOf(call.metadata));
      return { modelStats: stats.map(grpcStatistics) };
    }),
    ModelConfig: unary((call) => ({ config: modelConfig(metaOf(call as never, call.request.name, call.request.version)) })),
    RepositoryIndex: unary((call) => ({
      models: repositoryIndex(deps.models, call.request.ready, callerOf(call.metadata)),
    })),
    RepositoryModelLoad: (call, callback) => repositoryCall(call, callback, repositoryLoad),
    RepositoryModelUnload: (call, callback) => repositoryCall(call, callback, repositoryUnload),
  };
}
