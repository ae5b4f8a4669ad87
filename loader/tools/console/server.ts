/**
 * The console's HTTP server (fastify): the page and its assets, the JSON API the page uses, and
 * one server-sent-events stream (`GET /api/events`) that pushes the live fleet (fleet.ts) and the
 * per-service call figures (service-metrics.ts) as they change — the page never polls.
 *
 * Every change goes through the same code as the CLI: a push is `ConfigCenter.push` with the
 * loader's validator (loader/config/hot.ts, the rules of `aiges config push`) and the same wait on
 * the rollout (polaris/client/config-view.ts); a rollback is `ConfigCenter.rollback`; a key is made
 * by loader/auth/new-key.ts as `aiges keys create` makes it.
 *
 * Roles (auth.ts): every `/api/` route but login needs a role; every change needs `operator`, else
 * 403 CONSOLE_READ_ONLY, whatever the page shows. Changes must also be same-origin JSON requests
 * (a JSON content type cannot be sent cross-site without a CORS preflight, which this server never
 * answers; an Origin header must name this host), on top of the SameSite=Strict session cookie.
 */
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { awaitRollout, configStatus, triedOn } from '../../../polaris/client/config-view.js';
import { isEtcdRefusal } from '../../../polaris/store/etcd-errors.js';
import { checkName } from '../../../polaris/store/keys.js';
import type { Polaris } from '../../../polaris/store/types.js';
import { newKey } from '../../auth/new-key.js';
import { isToolError } from '../errors.js';
import type { ConsoleAssets } from './assets.js';
import { type ConsoleAuth, type Role, SESSION_COOKIE } from './auth.js';
import { CONSOLE_STATUS, type ConsoleCode, ConsoleCodes, consoleError } from './errors.js';
import type { Fleet } from './fleet.js';
import type { ServiceMetrics } from './service-metrics.js';

export interface ConsoleDeps {
  polaris: Polaris;
  auth: ConsoleAuth;
  fleet: Fleet;
  metrics: ServiceMetrics;
  assets: ConsoleAssets;
  /** How long a push waits for the instances to apply the version (default: the rollout's default). */
  pushTimeoutMs?: number;
  /** Cookies marked Secure (the console is served over HTTPS, e.g. behind an ingress). */
  secureCookie?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    role: Role;
  }
}

/** A keep-alive comment on every event stream this often, so that proxies keep it open. */
const SSE_KEEPALIVE_MS = 15_000;

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const OPEN_ROUTES = new Set(['/api/login', '/api/logout', '/api/me']);

function fail(reply: FastifyReply, code: ConsoleCode, message: string, extra: Record<string, unknown> = {}) {
  return reply.code(CONSOLE_STATUS[code]).send({ code, message, ...extra });
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length).trim() : undefined;
}

/** A change must be a same-origin JSON request (see the module comment). */
function crossSite(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== request.headers.host) return `a change from another origin (${origin}) is refused`;
  }
  if (request.method !== 'DELETE' && !(request.headers['content-type'] ?? '').startsWith('application/json')) {
    return 'a change must be sent as application/json';
  }
  return undefined;
}

function serviceParam(request: FastifyRequest): string {
  const { service } = request.params as { service: string };
  try {
    return checkName('service', service);
  } catch (err) {
    throw consoleError(ConsoleCodes.BAD_REQUEST, (err as Error).message);
  }
}

function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw consoleError(ConsoleCodes.BAD_REQUEST, 'expected a JSON object');
  return b as Record<string, unknown>;
}

function optionalString(b: Record<string, unknown>, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw consoleError(ConsoleCodes.BAD_REQUEST, `"${key}" must be a string`);
  return v;
}

function optionalNumber(b: Record<string, unknown>, key: string): number | undefined {
  const v = b[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw consoleError(ConsoleCodes.BAD_REQUEST, `"${key}" must be a number`);
  return n;
}

export async function buildConsoleServer(deps: ConsoleDeps): Promise<FastifyInstance> {
  const { polaris, auth, fleet, metrics, assets } = deps;
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  await app.register(fastifyCookie);
  app.decorateRequest('role', 'viewer');

  app.setErrorHandler((err: Error & { statusCode?: number; line?: number }, _request, reply) => {
    if (isToolError(err, ConsoleCodes)) return fail(reply, err.code as ConsoleCode, err.message);
    if (err.name === 'HotConfigError') {
      return fail(reply, ConsoleCodes.INVALID_CONFIG, err.message, err.line === undefined ? {} : { line: err.line });
    }
    if (isEtcdRefusal(err) || /^(GRPC|Etcd)/.test(err.constructor.name)) return fail(reply, ConsoleCodes.POLARIS, err.message);
    if (err.statusCode !== undefined && err.statusCode < 500) return fail(reply, ConsoleCodes.BAD_REQUEST, err.message);
    // A bug of ours, not the request's: say so without pretending it was the request.
    if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) {
      return fail(reply, ConsoleCodes.INTERNAL, err.message);
    }
    // The store's own refusals (no such version, a failed version, a name it cannot hold) are the request's fault.
    return fail(reply, ConsoleCodes.BAD_REQUEST, err.message);
  });
  app.setNotFoundHandler((request, reply) => fail(reply, ConsoleCodes.NOT_FOUND, `no route ${request.method} ${request.url}`));

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    return payload;
  });

  // NOTE: onRequest, before the body is parsed: a viewer's change is refused as such whatever it sends.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/') || OPEN_ROUTES.has(request.url.split('?')[0] ?? '')) return;
    const role = auth.roleOf(bearerOf(request), request.cookies[SESSION_COOKIE]);
    if (role === undefined) return fail(reply, ConsoleCodes.LOGIN_REQUIRED, 'log in first (an operator or viewer token)');
    request.role = role;
    if (!WRITES.has(request.method)) return;
    if (role !== 'operator') return fail(reply, ConsoleCodes.READ_ONLY, 'read-only: only an operator may change the fleet');
    const refused = crossSite(request);
    if (refused !== undefined) return fail(reply, ConsoleCodes.CROSS_SITE, refused);
  });

  // The page and its assets, built into the package (assets.ts); nothing comes from elsewhere.
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(assets.index));
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
  app.get('/assets/:name', async (request, reply) => {
    const file = assets.files.get((request.params as { name: string }).name);
    if (file === undefined) return fail(reply, ConsoleCodes.NOT_FOUND, 'no such asset');
    return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
  });

  app.post('/api/login', async (request, reply) => {
    const token = optionalString(body(request), 'token');
    const role = token === undefined ? undefined : auth.roleOfToken(token);
    if (role === undefined) return fail(reply, ConsoleCodes.BAD_LOGIN, 'that token is neither an operator nor a viewer token');
    reply.setCookie(SESSION_COOKIE, auth.openSession(role), {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: deps.secureCookie === true,
    });
    return { role };
  });
  app.post('/api/logout', async (request, reply) => {
    const id = request.cookies[SESSION_COOKIE];
    if (id !== undefined) auth.closeSession(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { role: auth.roleOf(undefined, undefined) ?? null };
  });
  app.get('/api/me', async (request) => ({
    role: auth.roleOf(bearerOf(request), request.cookies[SESSION_COOKIE]) ?? null,
    anonymous: auth.options.anonymous,
  }));

  app.get('/api/fleet', async () => fleet.view());
  app.get('/api/metrics', async () =>
    Object.fromEntries(metrics.services().map((s) => [s, { points: metrics.points(s), summary: metrics.summary(s) }])),
  );

  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('fleet', fleet.view());
    for (const s of metrics.services()) send('metrics', { service: s, points: metrics.points(s), summary: metrics.summary(s) });
    const offFleet = fleet.onChange((view) => send('fleet', view));
    const offMetrics = metrics.onPoint((service, point, summary) => send('point', { service, point, summary }));
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), SSE_KEEPALIVE_MS);
    request.raw.once('close', () => {
      clearInterval(keepalive);
      offFleet();
      offMetrics();
    });
  });

  app.get('/api/config/:service', async (request) => {
    const service = serviceParam(request);
    const [versions, status] = await Promise.all([polaris.config.history(service), configStatus(polaris, service)]);
    return { service, current: status.current, versions, instances: status.instances };
  });

  app.post('/api/config/:service/push', async (request) => {
    const service = serviceParam(request);
    const b = body(request);
    const toml = b['toml'];
    if (typeof toml !== 'string') throw consoleError(ConsoleCodes.BAD_REQUEST, '"toml" must be the config text');
    const instance = optionalString(b, 'instance');
    const started = await polaris.config.push(service, toml, {
      ...(instance === undefined ? {} : { instance }),
      note: optionalString(b, 'note') ?? 'aiges console',
      ...(deps.pushTimeoutMs === undefined ? {} : { timeoutMs: deps.pushTimeoutMs }),
    });
    const version = await awaitRollout(polaris, service, started);
    return { version, instances: await triedOn(polaris, service, version) };
  });

  app.post('/api/config/:service/rollback', async (request) => {
    const service = serviceParam(request);
    const version = optionalNumber(body(request), 'version');
    if (version === undefined || !Number.isInteger(version) || version < 1) {
      throw consoleError(ConsoleCodes.BAD_REQUEST, '"version" must be a version number (1, 2, ...)');
    }
    await polaris.config.rollback(service, version);
    return { service, current: version };
  });

  app.get('/api/keys', async () => (await polaris.keys.list()).map(({ secretKey: _secret, ...shown }) => shown));
  app.post('/api/keys', async (request) => {
    const b = body(request);
    const services = optionalString(b, 'services');
    const rate = optionalNumber(b, 'rate');
    const burst = optionalNumber(b, 'burst');
    const accessKey = optionalString(b, 'accessKey');
    let key: ReturnType<typeof newKey>;
    try {
      key = newKey({
        note: optionalString(b, 'note') ?? '',
        ...(accessKey === undefined ? {} : { accessKey }),
        ...(services === undefined ? {} : { services: services.split(',').map((s) => s.trim()) }),
        ...(rate === undefined ? {} : { rate }),
        ...(burst === undefined ? {} : { burst }),
        ...(b['relay'] === true ? { relay: true } : {}),
      });
    } catch (err) {
      throw consoleError(ConsoleCodes.BAD_REQUEST, (err as Error).message);
    }
    await polaris.keys.create(key);
    // NOTE: the one answer that carries the secret; nothing shows it again.
    return key;
  });
  app.delete('/api/keys/:accessKey', async (request) => {
    const { accessKey } = request.params as { accessKey: string };
    if (!(await polaris.keys.revoke(accessKey))) throw consoleError(ConsoleCodes.NOT_FOUND, `no access key "${accessKey}"`);
    return { revoked: accessKey };
  });

  return app;
}
