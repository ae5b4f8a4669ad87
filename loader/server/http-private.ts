/**
 * `POST /v1/private/:service`: AIGes's public JSON protocol. Converts the JSON body to domain
 * types and calls the data plane: header.status 3 (or none) is a once call; 0/1/2 drive a
 * session across requests that share a sid (see http-sessions.ts).
 *
 * Request headers: `aiges-timeout-ms` (positive integer) sets the deadline: of the call in once
 * mode, of the whole session on its opening request, and of that one request later in a session
 * (passing it ends the session with 10102). A client that disconnects cancels the call or session.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AigesError, Codes, toAigesError } from '../errors.js';
import type { CallOptions, Dataplane } from '../dataplane/dataplane.js';
import type { Cancellable } from '../dataplane/deadline.js';
import { DataStatus } from '../../plugins/types.js';
import { parseRequest, peekSid, toPayload, type JsonPayloadItem, type JsonRequest } from './http-convert.js';
import { rememberSid } from './http-errors.js';
import { HttpSession, HttpSessionTable } from './http-sessions.js';

export const TIMEOUT_HEADER = 'aiges-timeout-ms';

export interface SuccessBody {
  header: { code: 0; message: string; sid: string; status: DataStatus };
  payload: Record<string, JsonPayloadItem>;
}

/**
 * What a call needs of its request. NOTE: it holds the raw response, never fastify's request or
 * reply: those reach the parsed body (its base64 strings). Anything per call that V8 keeps in old
 * space (a pretenured closure context or async frame) keeps what it points to alive through every
 * young-generation GC until the next full one; a body reached that way was promoted on every call
 * (measured: 86 KB promoted per 64 KiB call, 3x the GC time of a bare fastify route).
 */
interface Call {
  service: string;
  req: JsonRequest;
  /** Absolute deadline from the timeout header. */
  deadline: number | undefined;
  res: ServerResponse;
}

const CANCEL = Symbol('aiges.cancel');
type CancellableResponse = ServerResponse & { [CANCEL]?: Cancellable };

/** One listener for every response (no closure per call): cancels a call whose client went away. */
function onResponseClose(this: CancellableResponse): void {
  if (!this.writableEnded) this[CANCEL]?.cancel();
}

/** Subscribes the data plane's call to the client disconnecting before `res` is sent ('close' comes once per response). */
function cancelOnDisconnect(this: CancellableResponse, call: Cancellable): void {
  this[CANCEL] = call;
  this.on('close', onResponseClose);
}

export function registerPrivateRoute(app: FastifyInstance, dataplane: Dataplane): void {
  const sessions = new HttpSessionTable(dataplane.admission.capacity);
  app.addHook('onClose', async () => sessions.closeAll());

  // NOTE: not an async handler: a once call returns the data plane's promise mapped once, with no
  // async frame of its own (fastify takes a sync throw and a promise alike).
  app.post<{ Params: { service: string } }>('/v1/private/:service', (request, reply) => {
    rememberSid(request.raw, peekSid(request.body));
    const service = request.params.service;
    const req = parseRequest(request.body, service);
    const call: Call = { service, req, deadline: deadlineOf(request), res: reply.raw };
    if (req.status === DataStatus.ONCE) {
      // The sid is set here, not left to the data plane, so the plugin and the response agree.
      const sid = req.params['sid'] || randomUUID();
      rememberSid(request.raw, sid);
      return once(dataplane, call, sid);
    }
    return sessionStep(dataplane, sessions, call, request.raw);
  });
}

function success(sid: string, status: DataStatus, payload: Record<string, JsonPayloadItem>): SuccessBody {
  return { header: { code: 0, message: 'success', sid, status }, payload };
}

function once(dataplane: Dataplane, { service, req, deadline, res }: Call, sid: string): Promise<SuccessBody> {
  // parseRequest made params for this call alone: the sid goes into them, not into a copy.
  req.params['sid'] = sid;
  const options: CallOptions = { deadline, onCancel: cancelOnDisconnect.bind(res) };
  return dataplane.infer({ service, params: req.params, headers: req.headers, items: req.items }, options).then((items) => {
    const body = success(sid, DataStatus.ONCE, toPayload(items));
    dataplane.releaseOutputs(items); // toPayload has base64-encoded every byte
    return body;
  });
}

async function sessionStep(dataplane: Dataplane, sessions: HttpSessionTable, call: Call, raw: IncomingMessage) {
  const { service, req, deadline } = call;
  let entry: HttpSession | undefined;
  if (req.status === DataStatus.BEGIN) {
    if (req.sid !== '' && sessions.has(req.sid)) {
      throw new AigesError(Codes.INVALID_OP, `session "${req.sid}" is already open`);
    }
    const session = await dataplane.openSession({ service, params: req.params, headers: req.headers }, { deadline });
    entry = new HttpSession(session);
    sessions.add(entry);
  } else {
    if (req.sid === '') throw new AigesError(Codes.INVALID_OP, 'header.sid is required with header.status 1 and 2');
    entry = sessions.get(req.sid);
    if (entry === undefined) throw new AigesError(Codes.INVALID_OP, `no open session "${req.sid}"`);
    if (entry.session.service !== service) {
      throw new AigesError(Codes.INVALID_OP, `session "${req.sid}" belongs to service "${entry.session.service}"`);
    }
  }
  rememberSid(raw, entry.sid);
  const open = entry;
  // The opening request's deadline is the session's; a later request's bounds that request only.
  return open.serial(() => exchange(sessions, open, call, req.status === DataStatus.BEGIN ? undefined : deadline));
}

/** One request's turn in a session: write, maybe end, answer with the results gathered. */
async function exchange(sessions: HttpSessionTable, entry: HttpSession, call: Call, deadline: number | undefined) {
  const { session } = entry;
  const stop = (error: AigesError) => session.cancel(error);
  const onGone = () => {
    if (!call.res.writableEnded) stop(new AigesError(Codes.CANCELLED, 'the client cancelled the call'));
  };
  if (call.res.destroyed) onGone();
  else call.res.once('close', onGone);
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(
          () => stop(new AigesError(Codes.EXEC_TIMEOUT, `request deadline passed; session "${entry.sid}" ended`)),
          Math.max(0, deadline - Date.now()),
        );
  try {
    // NOTE: input that arrives after the plugin ended the session is ignored: the answer
    // carries the last results and status 2, which tells the client the session is over.
    if (call.req.items.length > 0 && !session.closed) await session.write(call.req.items);
    if (call.req.status === DataStatus.END || session.closed) {
      await session.end();
      await entry.finished;
    } else {
      // NOTE: "results so far": let results the plugin produced while taking this input reach
      // the collector (they travel through promise callbacks) before answering.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const { items, ended } = entry.take();
    if (ended) sessions.delete(entry.sid);
    return success(entry.sid, ended ? DataStatus.END : DataStatus.CONTINUE, toPayload(items, entry.seq));
  } catch (err) {
    const error = toAigesError(err);
    session.cancel(error);
    sessions.delete(entry.sid);
    throw error;
  } finally {
    clearTimeout(timer);
    call.res.off('close', onGone);
  }
}

/** The deadline the `aiges-timeout-ms` header sets; a bad value is 10009. */
function deadlineOf(request: FastifyRequest): number | undefined {
  const value = request.headers[TIMEOUT_HEADER];
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' && /^[1-9][0-9]*$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new AigesError(Codes.INVALID_DATA, `header ${TIMEOUT_HEADER} must be a positive integer (milliseconds)`);
  }
  return Date.now() + ms;
}
