/**
 * aiges.v1.Loader/Relay: a balancer's Infer calls multiplexed on one stream (RelayFrame in
 * loader.proto). Each call frame is decoded with Infer's own message codec and goes through the
 * same conversion and data plane as an Infer call; its answer goes back as one frame with the
 * call's id. Only the transport differs: no gRPC call per request.
 *
 * Lifetimes: a cancel frame cancels its call (10202); the balancer half-closing the stream means
 * "no new calls": the open ones are answered, then the stream ends (so does the loader stopping:
 * after its drain); the stream breaking (the balancer went away) cancels every open call. A
 * draining loader answers new calls 10101, which a balancer retries elsewhere.
 *
 * Callers (`[auth]`): a call is its frame's `caller` when the frame names one (the stream's signer
 * must be a balancer's key, `relay = true`: SignedCaller.onBehalfOf), else the stream's signer's.
 */
import type * as grpc from '@grpc/grpc-js';
import { AigesError, Codes, grpcStatusOf, toAigesError } from '../errors.js';
import type { SignedCaller } from '../auth/aksk.js';
import type { Caller, Cancellable, Dataplane } from '../dataplane/dataplane.js';
import type { InferRequest__Output } from '../../proto/gen/aiges/v1/InferRequest.js';
import type { RelayFrame, RelayFrame__Output } from '../../proto/gen/aiges/v1/RelayFrame.js';
import { grpcError } from './grpc-errors.js';
import { type InferCodec, inferOnWire } from './grpc-infer.js';

export type RelayCall = grpc.ServerDuplexStream<RelayFrame__Output, RelayFrame>;

/** One open call on a Relay stream: what cancels it. */
interface Open {
  target: Cancellable | undefined;
  cancelled: boolean;
}

export interface RelayDeps {
  dataplane: Dataplane;
  codec: InferCodec;
  /** Who signed the stream (`[auth]`): the caller of its calls whose frames name none. */
  caller: SignedCaller | undefined;
  /** The AigesError for a frame grpc-js could not decode (tolerantService's marker), else undefined. */
  malformedFrame(frame: unknown): AigesError | undefined;
  /** Subscribes to the loader's state; returns the unsubscribe. */
  onHealth(listener: (state: string) => void): () => void;
}

export function serveRelay(call: RelayCall, { dataplane, codec, caller, malformedFrame, onHealth }: RelayDeps): void {
  const open = new Map<number, Open>();
  let inputEnded = false;
  let gone = false;

  const finishIfDone = () => {
    if (inputEnded && open.size === 0 && !gone) call.end();
  };
  const reply = (frame: RelayFrame) => {
    if (!gone) call.write(frame);
  };
  const fail = (id: number, err: unknown) => {
    const e = toAigesError(err);
    reply({ id, grpcStatus: grpcStatusOf(e.aigesCode), grpcMessage: e.message, aigesCode: e.aigesCode });
  };

  call.on('data', (frame: RelayFrame__Output) => {
    const bad = malformedFrame(frame);
    if (bad !== undefined) {
      // A frame we cannot read: the stream itself is broken (its calls cannot be told apart).
      gone = true;
      for (const o of open.values()) cancelOpen(o);
      call.emit('error', grpcError(bad));
      return;
    }
    const id = frame.id;
    if (frame.cancel) {
      const o = open.get(id);
      if (o !== undefined) cancelOpen(o);
      return;
    }
    if (open.has(id)) return fail(id, new AigesError(Codes.INVALID_OP, `relay call id ${id} is already open`));
    let request: InferRequest__Output;
    try {
      request = codec.requestDeserialize(frame.request);
    } catch (err) {
      return fail(id, new AigesError(Codes.INVALID_DATA, `malformed protobuf message: ${(err as Error).message}`));
    }
    let frameCaller: Caller | undefined = caller;
    if (caller !== undefined && frame.caller !== '') {
      try {
        frameCaller = caller.onBehalfOf(frame.caller);
      } catch (err) {
        return fail(id, err);
      }
    }
    const entry: Open = { target: undefined, cancelled: false };
    open.set(id, entry);
    const deadline = frame.timeoutMs > 0 ? Date.now() + frame.timeoutMs : undefined;
    const onCancel = (target: Cancellable) => {
      entry.target = target;
      if (entry.cancelled) target.cancel();
    };
    inferOnWire(dataplane, codec, request, { deadline, onCancel, caller: frameCaller }).then(
      (response) => {
        open.delete(id);
        reply({ id, response });
        finishIfDone();
      },
      (err: unknown) => {
        open.delete(id);
        fail(id, err);
        finishIfDone();
      },
    );
  });
  call.on('end', () => {
    inputEnded = true;
    finishIfDone();
  });
  // NOTE: a stopped loader ends the stream (its calls are drained by then): an open Relay stream
  // would hold the server's graceful shutdown until it is forced.
  const off = onHealth((state) => {
    if (state !== 'stopped') return;
    inputEnded = true;
    finishIfDone();
  });
  const lost = () => {
    off();
    if (gone) return;
    gone = true;
    for (const o of open.values()) cancelOpen(o);
  };
  call.on('close', off);
  call.on('cancelled', lost);
  call.on('error', lost);
}

function cancelOpen(o: Open): void {
  o.cancelled = true;
  o.target?.cancel();
}
