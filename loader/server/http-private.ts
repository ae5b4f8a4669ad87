/**
 * `POST /v1/private/:service`: AIGes's public JSON protocol. Converts the JSON body to domain
 * types and calls the data plane: header.status 3 (or none) is a once call; 0/1/2 are steps of a
 * session carried across requests that share a sid (dataplane/session-steps.ts).
 *
 * Request headers: `aiges-timeout-ms` (positive integer) sets the deadline: of the call in once
 * mode, of the whole session on its opening request, and of that one request later in a session.
 * A client that disconnects cancels the call or session.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AigesError, Codes } from '../errors.js';
import type { Cancellable, Dataplane, StepAnswer } from '../dataplane/dataplane.js';
import { DataStatus, type DataItem } from '../../plugins/types.js';
import { type JsonPayloadItem, parseRequest, peekSid, toPayload } from './http-convert.js';
import { callerOf } from './http-auth.js';
import { rememberSid } from './http-errors.js';

export const TIMEOUT_HEADER = 'aiges-timeout-ms';

export interface SuccessBody {
  header: { code: 0; message: string; sid: string; status: DataStatus };
  payload: Record<string, JsonPayloadItem>;
}

const CANCEL = Symbol('aiges.cancel');
type CancellableResponse = ServerResponse & { [CANCEL]?: Cancellable };

/** One listener for every response (no closure per call): cancels a call whose client went away. */
function onResponseClose(this: CancellableResponse): void {
  if (!this.writableEnded) this[CANCEL]?.cancel();
}

/** Subscribes the data plane's call to the client disconnecting before `res` is sent ('close' comes once per response). */
export function cancelOnDisconnect(this: CancellableResponse, call: Cancellable): void {
  this[CANCEL] = call;
  this.on('close', onResponseClose);
}

function success(sid: string, status: DataStatus, payload: Record<string, JsonPayloadItem>): SuccessBody {
  return { header: { code: 0, message: 'success', sid, status }, payload };
}

/** A once call's answer: encoded while the data plane holds the output (it may release it after). */
function onceBody(items: DataItem[], sid: string): SuccessBody {
  return success(sid, DataStatus.ONCE, toPayload(items));
}

function stepBody(answer: StepAnswer): SuccessBody {
  return success(answer.sid, answer.ended ? DataStatus.END : DataStatus.CONTINUE, toPayload(answer.items, answer.totals));
}

export function registerPrivateRoute(app: FastifyInstance, dataplane: Dataplane): void {
  // NOTE: not an async handler: a call returns the data plane's promise (mapped once for
  // sessions), with no async frame of its own (fastify takes a sync throw and a promise alike).
  // It holds the raw response, never fastify's request or reply: those reach the parsed body (its
  // base64 strings), and anything per call that V8 keeps in old space keeps what it points to
  // alive until the next full GC.
  app.post<{ Params: { service: string } }>('/v1/private/:service', (request, reply) => {
    rememberSid(request.raw, peekSid(request.body));
    const service = request.params.service;
    const req = parseRequest(request.body, service);
    const deadline = deadlineOf(request);
    const onCancel = cancelOnDisconnect.bind(reply.raw);
    const caller = callerOf(request);
    const { status, sid, params, headers, items } = req;
    if (status === DataStatus.ONCE) {
      return dataplane.infer({ service, params, headers, items }, { deadline, onCancel, caller, encode: onceBody });
    }
    return dataplane
      .sessionStep({ service, sid, status, params, headers, items, onePerKey: true }, { deadline, onCancel, caller })
      .then(stepBody);
  });
}

/** The deadline the `aiges-timeout-ms` header sets; a bad value is 10009. */
export function deadlineOf(request: FastifyRequest): number | undefined {
  const value = request.headers[TIMEOUT_HEADER];
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' && /^[1-9][0-9]*$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new AigesError(Codes.INVALID_DATA, `header ${TIMEOUT_HEADER} must be a positive integer (milliseconds)`);
  }
  return Date.now() + ms;
}
