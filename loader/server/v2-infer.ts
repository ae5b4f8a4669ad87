/**
 * One V2 once call from a parsed REST request (http-v2-convert.ts) to its encoded answer, through
 * the data plane: the REST adapter's infer route and `aiges batch`'s in-process V2 lines
 * (loader/tools/batch/target-v2.ts) share it, so that both read a request the same way.
 */
import type { CallOptions, Dataplane, ServiceMetadata } from '../dataplane/dataplane.js';
import type { DataItem } from '../../plugins/types.js';
import { AigesError, Codes } from '../errors.js';
import { type EncodedAnswer, encodeAnswer, type V2InferRequest } from './http-v2-convert.js';
import {
  checkRequestedOutputs,
  inputItem,
  modelVersion,
  outputTensor,
  refuseSequence,
  requestParams,
  requestVersion,
  timeoutDeadline,
} from './v2-items.js';

/**
 * The request's items to the data plane, its outputs encoded as REST's answer. `options.deadline`
 * is the adapter's; the request's `timeout` parameter shortens it. `where` names the route in the
 * refusal of a sequence (sessions go over gRPC ModelStreamInfer only).
 */
export function inferV2(
  dataplane: Pick<Dataplane, 'infer'>,
  meta: ServiceMetadata,
  req: V2InferRequest,
  options: CallOptions,
  where: string,
): Promise<EncodedAnswer> {
  refuseSequence(req.parameters, where);
  if (req.outputs !== undefined)
    checkRequestedOutputs(
      meta,
      req.outputs.map((o) => o.name),
    );
  const binaryOutput = req.parameters['binary_data_output'];
  if (binaryOutput !== undefined && typeof binaryOutput !== 'boolean') {
    throw new AigesError(Codes.INVALID_DATA, 'parameter binary_data_output must be true or false');
  }
  const items = req.inputs.map((tensor) => inputItem(meta, tensor));
  const params = requestParams(req.parameters, req.id);
  const deadline = earliest(options.deadline, timeoutDeadline(req.parameters));
  const head = { model: meta.service, version: modelVersion(meta), id: req.id };
  const encode = (out: DataItem[], sid: string) =>
    encodeAnswer({ ...head, id: head.id === '' ? sid : head.id }, out.map(outputTensor), req.outputs, binaryOutput === true);
  return dataplane.infer(
    { service: meta.service, params, headers: {}, items, version: requestVersion(meta) },
    { ...options, deadline, encode },
  );
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
