/**
 * The Open Inference Protocol V2 over REST (docs/v2.md), beside the AIGes routes and through the
 * same data plane: a model is a service of the loader, its version the plugin's (else "1").
 *
 * Routes (`{v}` optional: `/versions/{v}` after the model name; another version is 404):
 * - `GET  /v2`                              server metadata `{name, version, extensions}`
 * - `GET  /v2/models/{m}`                   model metadata `{name, versions, platform, inputs, outputs}`
 * - `GET  /v2/models/{m}/ready`             200 ready, 400 not ready, 404 unknown
 * - `POST /v2/models/{m}/infer`             inference, JSON or binary tensor data
 * - `GET  /v2/models/{m}/stats`             per-model statistics (Triton's shape)
 * - `POST /v2/repository/index`             the model repository's index (v2-repository.ts)
 * - `POST /v2/repository/models/{m}/load`   loads or reloads a repository model; `.../unload` unloads it
 * - `GET  /v2/models/{m}/config`            Triton's model configuration, as gRPC ModelConfig's
 * - `GET  /v2/models/stats`                 every model's statistics (a model named "stats" is
 *                                           shadowed here, as in Triton's URL scheme)
 * The health routes `GET /v2/health/live|ready` are http.ts's. Errors: `{"error": "<message>"}`
 * with the catalog's HTTP status and the `aiges-code` header (http-errors.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Dataplane, ServiceMetadata } from '../dataplane/dataplane.js';
import type { HealthState } from '../health.js';
import { AigesError, Codes, named } from '../errors.js';
import { callerOf } from './http-auth.js';
import { cancelOnDisconnect, deadlineOf } from './http-private.js';
import { BinaryBody, HEADER_LENGTH, parseInferRequest, rawBodyInput } from './http-v2-convert.js';
import { inferV2 } from './v2-infer.js';
import { checkVersion, type ConfigTensor, modelConfig, modelMetadata, SERVER_NAME, V2_EXTENSIONS } from './v2-items.js';
import { statisticsOf } from './v2-stats.js';
import { extensionsWith, type RepositoryControl, repositoryIndex, repositoryLoad, repositoryUnload } from './v2-repository.js';

type ModelParams = { model: string; version?: string };

export interface V2RouteDeps {
  dataplane: Dataplane;
  health: HealthState;
  /** The loader's version, for server metadata. */
  version: string;
  /** The model repository, if the loader has one. */
  models?: RepositoryControl | undefined;
}

/** Both spellings of a model route: without and with `/versions/{v}`. */
function both(suffix: string): string[] {
  return [`/v2/models/:model${suffix}`, `/v2/models/:model/versions/:version${suffix}`];
}

export function registerV2Routes(app: FastifyInstance, deps: V2RouteDeps): void {
  const { dataplane, health } = deps;
  const metaOf = (request: FastifyRequest<{ Params: ModelParams }>): ServiceMetadata => {
    return checkVersion(dataplane.metadata(request.params.model, callerOf(request)), request.params.version);
  };

  app.get('/v2', async () => ({ name: SERVER_NAME, version: deps.version, extensions: extensionsWith(V2_EXTENSIONS, deps.models) }));

  for (const url of both('')) {
    app.get<{ Params: ModelParams }>(url, async (request) => modelMetadata(metaOf(request)));
  }
  for (const url of both('/ready')) {
    app.get<{ Params: ModelParams }>(url, async (request, reply) => {
      const ready = health.ready && metaOf(request).ready;
      // The spec's answer for a model that is not ready is a 4xx.
      return reply.code(ready ? 200 : 400).send({ name: request.params.model, ready });
    });
  }
  for (const url of both('/config')) {
    app.get<{ Params: ModelParams }>(url, async (request) => {
      const config = modelConfig(metaOf(request));
      const tensor = (t: ConfigTensor) => ({ name: t.name, data_type: t.dataType, dims: t.dims });
      const { name, platform, maxBatchSize, input, output } = config;
      return { name, platform, max_batch_size: maxBatchSize, input: input.map(tensor), output: output.map(tensor) };
    });
  }
  app.get('/v2/models/stats', async (request) => ({ model_stats: statisticsOf(dataplane, '', undefined, callerOf(request)) }));
  for (const url of both('/stats')) {
    app.get<{ Params: ModelParams }>(url, async (request) => {
      const { model, version } = request.params;
      return { model_stats: statisticsOf(dataplane, model, version, callerOf(request)) };
    });
  }
  for (const url of both('/infer')) {
    app.post<{ Params: ModelParams }>(url, (request, reply) => infer(dataplane, metaOf(request), request, reply));
  }

  app.post('/v2/repository/index', async (request) => {
    const ready = (request.body as { ready?: unknown } | undefined)?.ready;
    if (ready !== undefined && typeof ready !== 'boolean') throw new AigesError(Codes.INVALID_DATA, 'ready must be true or false');
    return repositoryIndex(deps.models, ready === true, callerOf(request));
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', async (request) => {
    await repositoryLoad(deps.models, request.params.model, callerOf(request));
    return {};
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (request) => {
    await repositoryUnload(deps.models, request.params.model, callerOf(request));
    return {};
  });
}

/** An infer request: wire → the parsed request, the shared V2 once call (v2-infer.ts), the answer → wire. */
function infer(dataplane: Dataplane, meta: ServiceMetadata, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const body = request.body;
  let req: ReturnType<typeof parseInferRequest>;
  if (body instanceof BinaryBody && body.header === undefined) {
    const name = soleInput(meta);
    const spec = meta.inputs[name];
    req = { id: '', parameters: {}, outputs: undefined, inputs: [rawBodyInput(name, spec?.datatype, spec?.shape, body.rest)] };
  } else if (body instanceof BinaryBody) req = parseInferRequest(body.header, body.rest);
  else req = parseInferRequest(body, undefined);

  const options = { deadline: deadlineOf(request), onCancel: cancelOnDisconnect.bind(reply.raw), caller: callerOf(request) };
  return inferV2(dataplane, meta, req, options, 'V2 REST').then((answer) => {
    if (answer.body === undefined) return reply.type('application/json; charset=utf-8').send(answer.json);
    return reply
      .header(HEADER_LENGTH, String(Buffer.byteLength(answer.json)))
      .type('application/octet-stream')
      .send(answer.body);
  });
}

/** The model's one input, for a body that is that input's bytes alone. */
function soleInput(meta: ServiceMetadata): string {
  const names = Object.keys(meta.inputs).filter((k) => k !== '*');
  if (names.length !== 1 || Object.hasOwn(meta.inputs, '*')) {
    throw new AigesError(
      Codes.INVALID_DATA,
      `Inference-Header-Content-Length: 0 sends one input's bytes alone, but model ${named(meta.service)} does not have exactly one input: send the JSON header`,
    );
  }
  return names[0] as string;
}
