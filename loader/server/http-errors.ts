/**
 * The HTTP form of every error, fastify's own included: the catalog's HTTP status, an
 * `aiges-code` response header, and the AIGes JSON body `{ header: { code, message, sid } }`.
 * Messages come from the catalog's errors only; stacks and causes never reach the client.
 */
import { type IncomingMessage, maxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AigesError, Codes, httpStatusOf, isAigesError, toAigesError } from '../errors.js';
import type { Logger } from '../log.js';

export interface ErrorBody {
  header: { code: number; message: string; sid: string };
}

/** NOTE: a slot on the request rather than a WeakMap: ephemeron entries cost every GC something. */
const SID = Symbol('aiges.sid');
type SidCarrier = IncomingMessage & { [SID]?: string };

/** Records the request id of a request, so its error response (and log line) carries it. */
export function rememberSid(raw: IncomingMessage, sid: string): void {
  if (sid !== '') (raw as SidCarrier)[SID] = sid;
}

/**
 * The request id an error answer names: the call's (set on the error by the data plane), else the
 * one recorded for the request, else a fresh one (e.g. the body did not parse).
 */
export function sidOf(request: FastifyRequest, error?: AigesError): string {
  const raw = request.raw as SidCarrier;
  if (error?.sid !== undefined) return (raw[SID] = error.sid);
  return (raw[SID] ??= randomUUID());
}

/** Maps fastify's errors (`FST_ERR_*`, HTTP client errors) to catalog errors; others pass through. */
export function httpErrorOf(err: unknown, bodyLimit: number): AigesError {
  if (isAigesError(err)) return toAigesError(err);
  const e = (err ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AigesError(Codes.PAYLOAD_TOO_LARGE, `request body is larger than ${bodyLimit} bytes`, { cause: err });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // The parser refuses "__proto__" and "constructor.prototype" keys, under this same code.
      return new AigesError(Codes.INVALID_DATA, 'request body is not valid JSON (or holds a forbidden __proto__ key)', {
        cause: err,
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AigesError(Codes.INVALID_DATA, 'request body is empty', { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AigesError(Codes.INVALID_DATA, 'unsupported content type: send application/json', { cause: err });
    case 'FST_ERR_BAD_URL':
      return new AigesError(Codes.INVALID_DATA, 'malformed URL', { cause: err });
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 404) return new AigesError(Codes.NOT_FOUND, 'not found', { cause: err });
  if (status === 413) return new AigesError(Codes.PAYLOAD_TOO_LARGE, 'request body is too large', { cause: err });
  if (status >= 400 && status < 500) {
    // fastify's client-error messages describe the request, never the server.
    return new AigesError(Codes.INVALID_DATA, typeof e.message === 'string' ? e.message : 'bad request', { cause: err });
  }
  return toAigesError(err);
}

/**
 * Whether a request is the V2 protocol's (its errors take V2's shape): `/v2` and below, but for
 * the health routes, which every orchestrator probes and which keep the loader's own shape.
 */
function isV2Request(request: FastifyRequest): boolean {
  const url = request.url;
  if (!url.startsWith('/v2') || url.startsWith('/v2/health/')) return false;
  return url.length === 3 || url[3] === '/' || url[3] === '?';
}

/**
 * Sends `err` in the AIGes JSON error shape, or on a V2 route (health aside) in V2's
 * `{"error": "<message>"}`; the catalog's HTTP status and `aiges-code` either way. Internal
 * faults are logged, with the sid.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  options: { log: Logger; bodyLimit: number },
): FastifyReply {
  const error = httpErrorOf(err, options.bodyLimit);
  const sid = sidOf(request, error);
  if (error.aigesCode === Codes.INTERNAL) {
    options.log.error({ err, sid, method: request.method, url: request.url }, 'http request failed');
  }
  const body: ErrorBody | { error: string } = isV2Request(request)
    ? { error: error.message }
    : { header: { code: error.aigesCode, message: error.message, sid } };
  return reply
    .code(httpStatusOf(error.aigesCode))
    .header('aiges-code', String(error.aigesCode))
    .type('application/json; charset=utf-8')
    .send(body);
}

/**
 * Answers what Node's HTTP parser refuses before any route runs (fastify's `clientErrorHandler`):
 * request line and headers too large (431 / 10209), a request that did not arrive whole in time
 * (408 / 10210), anything else it cannot parse (400 / 10009), in the same shape as every other
 * error, then closes the connection. Nothing of the request is repeated.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex, requestTimeoutMs: number): void {
  // A connection reset has nothing left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AigesError(Codes.HEADERS_TOO_LARGE, `the request line and headers are larger than ${maxHeaderSize} bytes`)
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AigesError(Codes.REQUEST_TIMEOUT, `the request did not arrive whole within ${requestTimeoutMs} ms`)
        : new AigesError(Codes.INVALID_DATA, 'malformed HTTP request');
  // As Node does: raw bytes only while no response has begun on the socket.
  const response = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && (response == null || !response.headersSent)) {
    const status = httpStatusOf(error.aigesCode);
    const body = JSON.stringify({ header: { code: error.aigesCode, message: error.message, sid: randomUUID() } } satisfies ErrorBody);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\naiges-code: ${error.aigesCode}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
