/** Placeholder replaced by the HTTP adapter (in progress). */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { HealthState } from '../health.js';
import type { Logger } from '../log.js';
import type { LoaderMetrics } from '../metrics.js';

export interface HttpServerDeps {
  dataplane: Dataplane;
  health: HealthState;
  metrics: LoaderMetrics;
  log: Logger;
  maxMessageBytes: number;
}

export function createHttpServer(deps: HttpServerDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyInstance['log'],
    disableRequestLogging: true,
  }) as unknown as FastifyInstance;
  app.get('/v2/health/live', async (_req, reply) => reply.code(deps.health.live ? 200 : 503).send({ live: deps.health.live }));
  app.get('/v2/health/ready', async (_req, reply) => reply.code(deps.health.ready ? 200 : 503).send({ ready: deps.health.ready }));
  return app;
}
