/**
 * How `aiges batch` sends a V2 JSONL line (sources.ts): to the target's Open Inference Protocol V2
 * route, and back as the V2 REST answer, `{model_name, model_version, id, outputs: [{name,
 * datatype, shape, parameters?, data}]}`, which predictions.jsonl keeps as it is.
 *
 * - in-process: the data plane, through the REST adapter's own once call (server/v2-infer.ts);
 * - gRPC: `inference.GRPCInferenceService/ModelInfer`, the inputs as raw contents; the raw output
 *   contents made JSON by the REST encoder (http-v2-convert.ts), so every target writes the same;
 * - HTTP: `POST <url>/v2/models/<service>/infer` with the binary tensor data extension (the
 *   inputs' bytes after a JSON header: no re-encoding of parsed tensors as JSON).
 *
 * An output that JSON cannot carry (FP16, BF16, a non-finite float, BYTES that are not UTF-8)
 * fails the item with code `output`: a JSONL line holds JSON only.
 */
import type * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import type { Dataplane, ServiceMetadata } from '../../dataplane/dataplane.js';
import { type EncodedAnswer, encodeAnswer, HEADER_LENGTH, type V2InferRequest } from '../../server/http-v2-convert.js';
import { TIMEOUT_HEADER } from '../../server/http-private.js';
import { parametersOf } from '../../server/grpc-v2.js';
import { inferV2 } from '../../server/v2-infer.js';
import type { OutputTensor, ParameterValue } from '../../server/v2-items.js';
import { datatypeOf } from '../../server/v2-tensors.js';
import { newNonce, signRequest } from '../../../plugins/aksk.js';
import type { InferParameter } from '../../../proto/gen/inference/InferParameter.js';
import type { ModelInferRequest } from '../../../proto/gen/inference/ModelInferRequest.js';
import type { ModelInferResponse__Output } from '../../../proto/gen/inference/ModelInferResponse.js';
import { createV2Client } from '../client.js';
import { grpcFailure } from '../xtest/target-grpc.js';
import { transportFailure, type TargetOptions } from '../xtest/target.js';

/** A V2 output tensor as the REST answer writes it. */
export interface V2JsonTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, unknown>;
  data: unknown;
}

export interface V2Answer {
  model_name: string;
  model_version: string;
  id: string;
  outputs: V2JsonTensor[];
}

export type V2Outcome = { ok: true; answer: V2Answer } | { ok: false; code: string; message: string };

export interface V2Target {
  /** One V2 once call. Never rejects: failures are outcomes. */
  infer(req: V2InferRequest): Promise<V2Outcome>;
  close(): Promise<void>;
}

/** The code of an answer this tool cannot write (runner.ts's OUTPUT_CODE; a constant here to keep imports one way). */
const OUTPUT = 'output';

function failureOf(err: unknown): V2Outcome {
  const code = (err as { aigesCode?: unknown }).aigesCode;
  return { ok: false, code: code === undefined ? 'ERROR' : String(code), message: (err as Error).message };
}

/** An encoded answer as a line can hold it: JSON alone, no binary outputs. */
function jsonAnswer(encoded: EncodedAnswer): V2Outcome {
  const answer = JSON.parse(encoded.json) as V2Answer;
  if (encoded.body === undefined) return { ok: true, answer };
  return binaryOutputs(answer);
}

function binaryOutputs(answer: V2Answer): V2Outcome {
  const names = answer.outputs.filter((o) => o.data === undefined).map((o) => `${o.name} (${o.datatype})`);
  return {
    ok: false,
    code: OUTPUT,
    message: `outputs ${names.join(', ')} cannot be written as JSON (FP16, BF16, non-finite floats, BYTES that are not UTF-8)`,
  };
}

export function inProcessV2(dataplane: Pick<Dataplane, 'infer'>, meta: ServiceMetadata, timeoutMs: number | undefined): V2Target {
  return {
    async infer(req) {
      try {
        const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
        return jsonAnswer(await inferV2(dataplane, meta, req, { deadline }, 'aiges batch'));
      } catch (err) {
        return failureOf(err);
      }
    },
    close: async () => undefined,
  };
}

/** A V2 parameter in its gRPC form. */
function grpcParameter(value: ParameterValue): InferParameter {
  if (typeof value === 'string') return { stringParam: value };
  if (typeof value === 'boolean') return { boolParam: value };
  if (typeof value === 'bigint') return { int64Param: value.toString() };
  return Number.isInteger(value) ? { int64Param: value } : { doubleParam: value };
}

function grpcParameters(parameters: Readonly<Record<string, ParameterValue>>): Record<string, InferParameter> {
  const out: Record<string, InferParameter> = {};
  for (const name in parameters) out[name] = grpcParameter(parameters[name] as ParameterValue);
  return out;
}

export function modelInferRequest(model: string, req: V2InferRequest): ModelInferRequest {
  return {
    modelName: model,
    id: req.id,
    parameters: grpcParameters(req.parameters),
    inputs: req.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: grpcParameters(t.parameters) })),
    rawInputContents: req.inputs.map((t) => t.data),
    outputs: (req.outputs ?? []).map((o) => ({ name: o.name })),
  };
}

/** A ModelInfer answer (raw output contents) as the REST answer. */
function fromModelInfer(res: ModelInferResponse__Output): V2Outcome {
  const tensors = res.outputs.map((o, i): OutputTensor => {
    const data = res.rawOutputContents[i];
    if (data === undefined) throw Object.assign(new Error(`output ${o.name} came without raw contents`), { aigesCode: OUTPUT });
    const parameters: Record<string, string> = {};
    const given = parametersOf(o.parameters);
    for (const name in given) parameters[name] = String(given[name]);
    return { name: o.name, datatype: datatypeOf(o.name, o.datatype), shape: o.shape.map(Number), parameters, data };
  });
  return jsonAnswer(encodeAnswer({ model: res.modelName, version: res.modelVersion, id: res.id }, tensors, undefined, false));
}

export function grpcV2(address: string, options: TargetOptions): V2Target {
  const client = createV2Client(address, {}, options.tls, options.credentials);
  const { service, timeoutMs } = options;
  return {
    infer(req) {
      const call: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
      return new Promise((resolve) => {
        client.ModelInfer(modelInferRequest(service, req), call, (err, res) => {
          if (err) return resolve(grpcFailure(err) as V2Outcome);
          try {
            resolve(fromModelInfer(res as ModelInferResponse__Output));
          } catch (e) {
            resolve(failureOf(e));
          }
        });
      });
    },
    async close() {
      client.close();
    },
  };
}

/** The request as JSON header + the inputs' bytes (the binary tensor data extension). */
function binaryBody(req: V2InferRequest): { body: Buffer; headerLength: number } {
  const header = JSON.stringify({
    id: req.id,
    parameters: req.parameters,
    inputs: req.inputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      parameters: { ...t.parameters, binary_data_size: t.data.length },
    })),
    ...(req.outputs === undefined ? {} : { outputs: req.outputs.map((o) => ({ name: o.name })) }),
  });
  const head = Buffer.from(header, 'utf8');
  return { body: Buffer.concat([head, ...req.inputs.map((t) => t.data)]), headerLength: head.length };
}

export function httpV2(url: string, options: TargetOptions): V2Target {
  const { service, timeoutMs, credentials } = options;
  const base = new URL(url);
  const path = `${base.pathname.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(service)}/infer`;
  const pool = new Pool(base.origin, {
    connections: options.concurrency,
    pipelining: 1,
    headersTimeout: 0,
    bodyTimeout: 0,
    ...(options.tls === undefined ? {} : { connect: { ...options.tls } }),
  });
  return {
    async infer(req) {
      const { body, headerLength } = binaryBody(req);
      const target = credentials === undefined ? path : `${path}?nonce=${newNonce()}`;
      const signature =
        credentials === undefined ? {} : signRequest(credentials, { method: 'POST', pathAndQuery: target, host: base.host, body });
      try {
        const res = await pool.request({
          path: target,
          method: 'POST',
          headers: {
            'content-type': 'application/octet-stream',
            [HEADER_LENGTH]: String(headerLength),
            ...(timeoutMs === undefined ? {} : { [TIMEOUT_HEADER]: String(timeoutMs) }),
            ...signature,
          },
          body,
        });
        const bytes = Buffer.from(await res.body.arrayBuffer());
        const code = res.headers['aiges-code'];
        if (res.statusCode !== 200 || code !== undefined) {
          let message = bytes.toString('utf8', 0, 200);
          try {
            message = String((JSON.parse(bytes.toString('utf8')) as { error?: unknown }).error ?? message);
          } catch {
            // Not the loader's JSON (a proxy's error page): its first bytes are the message.
          }
          return { ok: false, code: code === undefined ? `http:${res.statusCode}` : String(code), message };
        }
        const length = res.headers[HEADER_LENGTH];
        const json = length === undefined ? bytes.toString('utf8') : bytes.toString('utf8', 0, Number(length));
        const answer = JSON.parse(json) as V2Answer;
        return length === undefined ? { ok: true, answer } : binaryOutputs(answer);
      } catch (err) {
        return transportFailure(err, 'net', (err as { code?: string }).code) as V2Outcome;
      }
    },
    async close() {
      await pool.close();
    },
  };
}
