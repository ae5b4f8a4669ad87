/**
 * AK/SK on the HTTP adapter (`[auth] mode = "aksk"`): every route but health (and `/metrics` when
 * `[auth] open_metrics`) takes only signed requests, unknown routes included, so that an unsigned
 * client learns nothing of the routes. The signature is checked when a request arrives, before its
 * body is read (onRequest); the body's hash once it is read (the JSON parser hashes the bytes it
 * parses, preValidation compares). The caller rides on the raw request to the route.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { contentSha256, CONTENT_SHA256_HEADER, EMPTY_CONTENT_SHA256 } from '../../plugins/aksk.js';
import type { AkSkAuth, SignedCaller } from '../auth/aksk.js';
import type { Caller } from '../dataplane/call.js';
import { HEALTH_ROUTES } from './health-routes.js';

/** Routes open without a signature: what orchestrators and load balancers probe. */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(Object.values(HEALTH_ROUTES));
export const METRICS_ROUTE = '/metrics';

/** NOTE: slots on the raw request, as http-errors.ts keeps the sid: no map per request. */
const CALLER = Symbol('aiges.caller');
const BODY_SHA256 = Symbol('aiges.bodySha256');
type Carrier = IncomingMessage & { [CALLER]?: SignedCaller; [BODY_SHA256]?: string };

/** The authenticated caller of a request (undefined without `[auth]`, or on an open route). */
export function callerOf(request: FastifyRequest): Caller | undefined {
  return (request.raw as Carrier)[CALLER];
}

/** Called by the body parsers with the bytes they parse: hashed when the request is signed. */
export function hashBody(raw: IncomingMessage, body: Buffer): void {
  const carrier = raw as Carrier;
  if (carrier[CALLER] !== undefined) carrier[BODY_SHA256] = contentSha256(body);
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function registerAuth(app: FastifyInstance, auth: AkSkAuth, options: { openMetrics: boolean }): void {
  const open = new Set(OPEN_ROUTES);
  if (options.openMetrics) open.add(METRICS_ROUTE);
  app.addHook('onRequest', (request, _reply, done) => {
    // NOTE: by the route matched, not the URL as written: no spelling of a URL reaches a signed
    // route through an open one.
    const route = request.routeOptions.url;
    if (route !== undefined && open.has(route)) return done();
    try {
      (request.raw as Carrier)[CALLER] = auth.authenticate({
        method: request.method,
        pathAndQuery: request.raw.url ?? '',
        host: header(request, 'host'),
        authorization: header(request, 'authorization'),
        date: header(request, 'date'),
        contentSha256: header(request, CONTENT_SHA256_HEADER),
      });
      done();
    } catch (err) {
      done(err as Error);
    }
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const raw = request.raw as Carrier;
    const caller = raw[CALLER];
    if (caller === undefined) return done();
    try {
      caller.checkBody(raw[BODY_SHA256] ?? EMPTY_CONTENT_SHA256);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}
