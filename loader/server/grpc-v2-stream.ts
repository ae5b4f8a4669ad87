/**
 * V2 gRPC ModelStreamInfer: a bidi stream of ModelInferRequests answered with
 * ModelStreamInferResponses, through the data plane's stream calls (dataplane/stream-calls.ts).
 * Conversion only: a request without sequence parameters is a ModelInfer (grpc-v2.ts) whose answer
 * may pass an earlier one; one with a `sequence_id` is a message of that sequence's session, whose
 * results come back in order, each tagged with the id of the sequence's latest request and the
 * `sequence_id` (the last also `sequence_end: true`), in the contents form (raw or typed) of that
 * request.
 *
 * A request's error is answered as `error_message` and the stream stays open, as Triton does;
 * beside it an `infer_response` carries the request's id, its `sequence_id` if any and the error's
 * `aiges_code` in its parameters. The client's half-close ends the input of the open sequences;
 * the call ends once every answer is sent.
 */
import type * as grpc from '@grpc/grpc-js';
import { AigesError, Codes, toAigesError } from '../errors.js';
import type { CallOptions, Dataplane, ServiceMetadata } from '../dataplane/dataplane.js';
import type { SessionSink } from '../dataplane/results.js';
import type { SessionPlace } from '../dataplane/stream-calls.js';
import { DataStatus, type SessionResult } from '../../plugins/types.js';
import type { InferParameter, InferParameter__Output } from '../../proto/gen/inference/InferParameter.js';
import type { ModelInferRequest__Output } from '../../proto/gen/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../proto/gen/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse } from '../../proto/gen/inference/ModelStreamInferResponse.js';
import { callDeadline, inferResponse, type ModelInferCodec, modelInfer, parametersOf, requestItems, sentTyped } from './grpc-v2.js';
import { checkVersion, requestParams } from './v2-items.js';

export type StreamInferCall = grpc.ServerDuplexStream<ModelInferRequest__Output, ModelStreamInferResponse>;

/** ModelStreamInfer's response encoder (grpc.ts: proto/load.ts messageEncoder). */
export interface StreamInferCodec {
  responseSerialize(value: ModelStreamInferResponse): Buffer;
}

type Parameters = NonNullable<ModelInferResponse['parameters']>;

/** A request's sequence: the session's key, its id as sent, and the message's place in it. */
interface Sequence extends SessionPlace {
  key: string;
  id: InferParameter;
}

function flag(parameters: Record<string, InferParameter__Output>, name: string): boolean {
  const p = parameters[name];
  if (p === undefined) return false;
  if (p.parameterChoice !== 'boolParam') throw new AigesError(Codes.INVALID_PARAM, `parameter ${name} must be a bool`);
  return p.boolParam as boolean;
}

/** The request's sequence parameters; undefined for a once call (no sequence_id, or 0 / ""). */
function sequenceOf(parameters: Record<string, InferParameter__Output>): Sequence | undefined {
  const start = flag(parameters, 'sequence_start');
  const end = flag(parameters, 'sequence_end');
  const p = Object.hasOwn(parameters, 'sequence_id') ? parameters['sequence_id'] : undefined;
  let key = '';
  if (p !== undefined) {
    if (p.parameterChoice === 'stringParam') key = p.stringParam as string;
    else if (p.parameterChoice === 'int64Param' || p.parameterChoice === 'uint64Param') {
      const n = p[p.parameterChoice] as number;
      key = n === 0 ? '' : String(n);
    } else throw new AigesError(Codes.INVALID_PARAM, 'parameter sequence_id must be an int64 or a string');
  }
  if (key === '') {
    if (start || end) throw new AigesError(Codes.INVALID_PARAM, 'sequence_start and sequence_end need a sequence_id');
    return undefined;
  }
  const id: InferParameter = p?.parameterChoice === 'stringParam' ? { stringParam: key } : { int64Param: Number(key) };
  return { key, id, start, end };
}

/** The call's side of the stream: serialized writes, none once the client has gone. */
class StreamOut {
  gone = false;

  constructor(
    private readonly call: StreamInferCall,
    private readonly codec: StreamInferCodec,
  ) {}

  /** Writes an answer serialized already; false: the transport wants a pause. */
  send(bytes: Buffer): boolean {
    // A Buffer is sent as is (grpc.ts's tolerantService).
    return this.gone ? true : this.call.write(bytes as never);
  }

  /** Serializes now: the plugin may take its output memory back once the answer is encoded. */
  answer(response: ModelInferResponse): boolean {
    return this.send(this.codec.responseSerialize({ inferResponse: response }));
  }

  fail(err: unknown, modelName: string, id: string, parameters: Parameters = {}): void {
    const error = toAigesError(err);
    const inferResponse = { modelName, id, parameters: { ...parameters, aiges_code: { int64Param: error.aigesCode } } };
    this.send(this.codec.responseSerialize({ errorMessage: error.message, inferResponse }));
  }

  /** Serializes ModelInfer's answer as a stream answer. */
  readonly onceCodec: ModelInferCodec = { responseSerialize: (r) => this.codec.responseSerialize({ inferResponse: r }) };
}

/** A sequence's results as stream answers, tagged with its latest request. */
class SequenceSink implements SessionSink {
  id = '';
  requested: readonly string[] = [];
  /** Whether the latest request sent typed contents (the results come typed then). */
  typed = false;

  constructor(
    private readonly out: StreamOut,
    private readonly meta: ServiceMetadata,
    private readonly sequence: InferParameter,
  ) {}

  result(result: SessionResult): boolean {
    const parameters: Parameters = { sequence_id: this.sequence };
    if (result.status === DataStatus.END) parameters['sequence_end'] = { boolParam: true };
    let response: ModelInferResponse;
    try {
      response = inferResponse(this.meta, result.items, this.id, this.requested, parameters, this.typed);
    } catch (err) {
      this.out.fail(err, this.meta.service, this.id, { sequence_id: this.sequence });
      return true;
    }
    return this.out.answer(response);
  }

  close(error: AigesError | undefined): void {
    if (error !== undefined) this.out.fail(error, this.meta.service, this.id, { sequence_id: this.sequence });
  }
}

export interface StreamInferDeps {
  dataplane: Dataplane;
  codec: StreamInferCodec;
  /** The malformed-message check of the gRPC adapter (grpc.ts). */
  malformed: (value: unknown) => AigesError | undefined;
  /** The client's deadline (the stream's) and the caller. */
  options: Pick<CallOptions, 'deadline' | 'caller'>;
}

export function serveStreamInfer(call: StreamInferCall, { dataplane, codec, malformed, options }: StreamInferDeps): void {
  const out = new StreamOut(call, codec);
  const calls = dataplane.streamCalls<SequenceSink>();
  const resume = () => call.resume();
  call.on('data', (req: ModelInferRequest__Output) => {
    let pending: Promise<void> | undefined;
    let sequence: Sequence | undefined;
    try {
      const bad = malformed(req);
      if (bad !== undefined) throw bad;
      sequence = sequenceOf(req.parameters);
      const meta = checkVersion(dataplane.metadata(req.modelName, options.caller), req.modelVersion);
      if (sequence === undefined) {
        calls
          .infer((o) => modelInfer(dataplane, out.onceCodec, meta, req, { ...options, ...o }))
          .then(
            (bytes) => out.send(bytes),
            (err: unknown) => out.fail(err, req.modelName, req.id),
          );
        return;
      }
      const parameters = parametersOf(req.parameters);
      const { items, requested } = requestItems(meta, req);
      const message = { service: meta.service, params: requestParams(parameters, req.id), headers: {}, items };
      const open = { deadline: callDeadline(parameters, options.deadline), caller: options.caller };
      const id = sequence.id;
      pending = calls.session(sequence.key, sequence, message, open, (sink = new SequenceSink(out, meta, id)) => {
        sink.id = req.id;
        sink.requested = requested;
        sink.typed = sentTyped(req);
        return sink;
      });
    } catch (err) {
      return out.fail(err, req.modelName ?? '', req.id ?? '', sequence === undefined ? {} : { sequence_id: sequence.id });
    }
    if (pending !== undefined) {
      // One message at a time into the plugin: the stream waits while a sequence's write is pending.
      call.pause();
      pending.then(resume, resume);
    }
  });
  call.on('end', () => void calls.end().then(() => out.gone || call.end()));
  call.on('drain', () => calls.resume());
  call.on('cancelled', () => {
    out.gone = true;
    calls.cancel();
  });
  // A broken transport: the 'cancelled' event follows; nothing to send.
  call.on('error', () => undefined);
}
