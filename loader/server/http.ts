/**
 * The HTTP adapter (fastify): health, Prometheus metrics, metadata, the OpenAPI document and
 * AIGes's public JSON route (http-private.ts). Like the gRPC adapter it only converts wire types
 * and calls the data plane. Every error, fastify's own included, leaves in one shape
 * (http-errors.ts).
 *
 * Routes:
 * - `GET  /v2/health/live`        200 while the process serves, else 503
 * - `GET  /v2/health/ready`       200 only while the plugin is initialised and calls are taken
 * - `GET  /metrics`               Prometheus text from the loader's registry
 * - `GET  /v1/metadata?service=`  the service schema (the sole service when none is named)
 * - `GET  /openapi.json?service=` OpenAPI 3.1 built from that schema
 * - `POST /v1/private/:service`   AIGes public JSON protocol, once and session mode
 * - `GET|POST /v2/…`              the Open Inference Protocol V2 (http-v2.ts)
 *
 * With `[auth] mode = "aksk"` every route but the two health routes needs a signed request
 * (http-auth.ts); `/metrics` too, unless `[auth] open_metrics`.
 */
import type { Server as TlsServer } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AigesError, Codes } from '../errors.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { HealthState } from '../health.js';
import type { Logger } from '../log.js';
import type { LoaderMetrics } from '../metrics.js';
import type { AkSkAuth } from '../auth/aksk.js';
import type { TlsFiles } from '../lib/tls-files.js';
import { followTlsFiles, secureServerOptions } from '../lib/tls-servers.js';
import { callerOf, hashBody, registerAuth } from './http-auth.js';
import { answerClientError, sendError } from './http-errors.js';
import { HEALTH_ROUTES } from './health-routes.js';
import { buildOpenApi } from './http-openapi.js';
import { registerPrivateRoute } from './http-private.js';
import { BinaryBody, HEADER_LENGTH, headerLengthOf } from './http-v2-convert.js';
import { registerV2Routes } from './http-v2.js';
import type { RepositoryControl } from './v2-repository.js';
import { installRoot } from '../lib/install-root.js';

export interface HttpServerDeps {
  dataplane: Dataplane;
  health: HealthState;
  metrics: LoaderMetrics;
  log: Logger;
  /** Largest decoded payload accepted (`limits.max_message_bytes`). */
  maxMessageBytes: number;
  /** `server.request_timeout_ms`: how long a request may take to arrive whole (0: no limit). */
  requestTimeoutMs: number;
  /** HTTPS (`[server.tls]`) from these files, followed as they change; absent: plain HTTP. */
  tls?: TlsFiles | undefined;
  /** AK/SK checks (`[auth] mode = "aksk"`); absent: every route is open. */
  auth?: AkSkAuth | undefined;
  /** With `auth`: `/metrics` open without a signature (`[auth] open_metrics`). */
  openMetrics?: boolean | undefined;
  /** The model repository (`[repository]`), for the V2 repository routes; absent: none. */
  models?: RepositoryControl | undefined;
}

/** Room for the JSON envelope (header, parameter, field names) around the base64 payload. */
const ENVELOPE_BYTES = 64 * 1024;

/** The JSON body limit: base64 makes 3 bytes 4, plus the envelope. The data plane checks decoded bytes. */
export function bodyLimitOf(maxMessageBytes: number): number {
  return Math.ceil((maxMessageBytes * 4) / 3) + ENVELOPE_BYTES;
}

/**
 * Node's server options for a request timeout. NOTE: Node checks it only while the headers
 * timeout is no longer (made in the constructor: min(60 s, request timeout); fastify sets the
 * request timeout only after), and on an interval (30 s by default): a quarter of it here.
 */
function nodeTimeouts(requestTimeoutMs: number): { requestTimeout: number; connectionsCheckingInterval: number } {
  if (requestTimeoutMs === 0) return { requestTimeout: 0, connectionsCheckingInterval: 30_000 };
  return {
    requestTimeout: requestTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.ceil(requestTimeoutMs / 4))),
  };
}

/**
 * Node's server options. NOTE: `requireHostHeader` off: Node would answer an HTTP/1.1 request
 * without `host` with a bare 400 of its own (no `aiges-code`, no body); the loader refuses it
 * itself instead (refuseMissingHost), in the shape of every other error.
 */
function nodeOptions(requestTimeoutMs: number) {
  return { ...nodeTimeouts(requestTimeoutMs), requireHostHeader: false };
}

/** HTTP/1.1 requires `host` (RFC 9112 §3.2): a request without one is 10009. */
function refuseMissingHost(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
    return done(new AigesError(Codes.INVALID_DATA, 'missing host header (HTTP/1.1 requires one)'));
  }
  done();
}

export function createHttpServer(deps: HttpServerDeps): FastifyInstance {
  const { dataplane, health, metrics } = deps;
  const log = deps.log.child({ component: 'http' });
  const bodyLimit = bodyLimitOf(deps.maxMessageBytes);
  const errorOptions = { log, bodyLimit };
  // NOTE: no logger for fastify itself: it would make a child logger per request. Errors are
  // logged by sendError with the loader's logger.
  const app = Fastify({
    logger: false,
    bodyLimit,
    // NOTE: the loader closes this server only after draining calls, so whatever connection is
    // still open then (idle keep-alive, or opened but unused) is cut rather than waited for.
    forceCloseConnections: true,
    frameworkErrors: (err, request, reply) => sendError(request, reply, err, errorOptions),
    clientErrorHandler: (err, socket) => answerClientError(err, socket, deps.requestTimeoutMs),
    // A request (headers and body) that has not arrived whole by then is answered 408 / 10210.
    requestTimeout: deps.requestTimeoutMs,
    // NOTE: fastify hands `https` (not `http`) to Node when there is TLS: the timeouts go in both.
    http: nodeOptions(deps.requestTimeoutMs),
    ...(deps.tls === undefined ? {} : { https: { ...secureServerOptions(deps.tls), ...nodeOptions(deps.requestTimeoutMs) } }),
  }) as unknown as FastifyInstance;
  if (deps.tls !== undefined) followTlsFiles(app.server as unknown as TlsServer, deps.tls);

  // A JSON body is taken whatever type the client declared for it: `curl -d` (form-urlencoded) and
  // AIGes clients that send text/plain post the same JSON document. Parsed from the bytes as
  // received, which a signed request's hash covers (http-auth.ts). A V2 route's body with header
  // `Inference-Header-Content-Length` is a JSON header and binary tensors (any content type, or
  // none: V2 clients differ), taken apart here (http-v2-convert.ts).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const parseBody = (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void, jsonType: boolean) => {
    hashBody(request.raw, body);
    const headerLength = request.headers[HEADER_LENGTH];
    if (headerLength !== undefined && request.routeOptions.url?.startsWith('/v2/') === true) {
      let n: number;
      try {
        n = headerLengthOf(headerLength, body.length);
      } catch (err) {
        return done(err as Error);
      }
      if (n === 0) return done(null, new BinaryBody(undefined, body));
      const header = body.subarray(0, n).toString('utf8');
      return parseJson(request, header, (err, json) => (err === null ? done(null, new BinaryBody(json, body.subarray(n))) : done(err)));
    }
    if (!jsonType) return done(new AigesError(Codes.INVALID_DATA, 'unsupported content type: send application/json'));
    parseJson(request, body as unknown as string, done);
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded', 'text/plain'],
    { parseAs: 'buffer' },
    (request, body, done) => parseBody(request, body as Buffer, done, true),
  );
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => parseBody(request, body as Buffer, done, false));
  // NOTE: after the signature check, so that a signed loader answers an unsigned client 10206 whatever it sent.
  if (deps.auth !== undefined) registerAuth(app, deps.auth, { openMetrics: deps.openMetrics ?? false });
  app.addHook('onRequest', refuseMissingHost);
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err, errorOptions));
  app.setNotFoundHandler((request, reply) => {
    const route = `${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`;
    return sendError(request, reply, new AigesError(Codes.NOT_FOUND, `no route ${route}`), errorOptions);
  });

  app.get(HEALTH_ROUTES.live, async (_req, reply) => reply.code(health.live ? 200 : 503).send({ live: health.live }));
  app.get(HEALTH_ROUTES.ready, async (_req, reply) => {
    if (health.ready) return reply.code(200).send({ ready: true });
    const reasons = health.state === 'serving' ? health.reasons : [health.state, ...health.reasons];
    return reply.code(503).send({ ready: false, reasons });
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get<{ Querystring: { service?: string } }>('/v1/metadata', async (request) =>
    dataplane.metadata(request.query.service, callerOf(request)),
  );
  app.get<{ Querystring: { service?: string } }>('/openapi.json', async (request) =>
    buildOpenApi(dataplane.metadata(request.query.service, callerOf(request)), { maxMessageBytes: deps.maxMessageBytes }),
  );

  registerPrivateRoute(app, dataplane);
  registerV2Routes(app, { dataplane, health, version: installRoot().version, models: deps.models });
  return app;
}
