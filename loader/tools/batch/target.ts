/**
 * What `aiges batch` calls, named as `aiges xtest` names it (loader/tools/target.ts): a loader's
 * (or `aiges lb`'s) gRPC address, or its HTTP URL, through xtest's own targets; or, new here, a
 * plugin on disk (a folder, a plugin file or an aiges.toml, as `aiges serve` takes it) loaded
 * in-process with no server, through the same data plane (`aiges check` loads it the same way).
 * Polaris services are reached through `aiges lb`'s address. A V2 JSONL line goes to the same
 * target's V2 route (target-v2.ts).
 *
 * The service's schema (its input keys and their types) is read once, where the target tells it:
 * the data plane in-process, Metadata over gRPC, `GET /v1/metadata` over HTTP.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { request } from 'undici';
import { resolveTarget as resolvePluginTarget } from '../../config/target.js';
import { DATA_TYPE_BY_NAME, type DataItem, type DataType, type DataTypeName } from '../../../plugins/types.js';
import { openPlugin } from '../check/plugin.js';
import { createLoaderClient, metadata } from '../client.js';
import type { ClientTls } from '../client-tls.js';
import type { AkSkCredentials } from '../client.js';
import { type LoaderTarget, looksLikeTarget, parseTarget } from '../target.js';
import { grpcTarget } from '../xtest/target-grpc.js';
import { httpTarget } from '../xtest/target-http.js';
import type { CallOutcome, Target } from '../xtest/target.js';
import { BatchCodes, invalidBatchOption } from './errors.js';
import { grpcV2, httpV2, inProcessV2, type V2Target } from './target-v2.js';
import type { SourceSchema } from './sources.js';

export type BatchTargetSpec = { kind: 'plugin'; path: string } | ({ kind: 'remote' } & LoaderTarget);

/** What the job calls: AIGes items (`once`, xtest's targets) or a V2 request (`v2`, target-v2.ts). */
export interface BatchTarget {
  once: Target['once'];
  v2: V2Target['infer'];
  close(): Promise<void>;
}

function both(items: Target, v2: V2Target): BatchTarget {
  return {
    once: (i, p) => items.once(i, p),
    v2: (req) => v2.infer(req),
    close: async () => {
      await Promise.all([items.close(), v2.close()]);
    },
  };
}

export interface OpenedTarget {
  target: BatchTarget;
  service: string;
  /** "in-process demo/iris", "grpc 127.0.0.1:5090", "http http://…", for the summary. */
  describe: string;
  schema: SourceSchema | undefined;
}

export interface TargetSettings {
  concurrency: number;
  timeoutMs: number | undefined;
  tls: ClientTls | undefined;
  credentials: AkSkCredentials | undefined;
}

/**
 * A path that exists is a plugin to load in-process; anything else a loader's address or URL. A
 * service written before the target (`aiges batch echo 127.0.0.1:5090`) is named as such.
 */
export function parseBatchTarget(text: string, service?: string): BatchTargetSpec {
  if (existsSync(text) && !looksLikeTarget(text)) return { kind: 'plugin', path: text };
  if (service !== undefined && !looksLikeTarget(text) && looksLikeTarget(service)) {
    throw invalidBatchOption(`the target comes first, then the service: aiges batch ${service} ${text}`);
  }
  return { kind: 'remote', ...parseTarget(text, BatchCodes.INVALID_OPTION) };
}

const schemaOf = (inputs: Iterable<{ key: string; type: DataType }>): SourceSchema => ({
  inputs: new Map([...inputs].map((i) => [i.key, i.type])),
});

const byName = (inputs: Readonly<Record<string, { type: DataTypeName }>>) =>
  schemaOf(Object.entries(inputs).map(([key, spec]) => ({ key, type: DATA_TYPE_BY_NAME[spec.type] })));

function failure(err: unknown): CallOutcome {
  const code = (err as { aigesCode?: unknown }).aigesCode;
  return { ok: false, code: code === undefined ? 'ERROR' : String(code), message: (err as Error).message };
}

async function inProcess(path: string, service: string | undefined, s: TargetSettings): Promise<OpenedTarget> {
  const plugin = await openPlugin(resolvePluginTarget(resolve(path)), process.env, BatchCodes.LOAD);
  let meta: ReturnType<typeof plugin.dataplane.metadata>;
  try {
    meta = plugin.dataplane.metadata(service ?? plugin.wrapper.id);
  } catch (err) {
    await plugin.close();
    throw invalidBatchOption(`${path} does not serve ${service}: ${(err as Error).message}`);
  }
  const { dataplane } = plugin;
  const target: Target = {
    async once(items, params = {}) {
      try {
        const deadline = s.timeoutMs === undefined ? undefined : Date.now() + s.timeoutMs;
        const out: DataItem[] = await dataplane.infer({ service: meta.service, params, headers: {}, items }, { deadline });
        return { ok: true, outputs: out.map((i) => ({ key: i.key, type: i.type, encoding: i.encoding, data: i.data })) };
      } catch (err) {
        return failure(err);
      }
    },
    async session() {
      return { ok: false, code: 'ERROR', message: 'aiges batch makes once calls only' };
    },
    close: () => plugin.close(),
  };
  const v2 = inProcessV2(dataplane, meta, s.timeoutMs);
  return { target: both(target, v2), service: meta.service, describe: `in-process ${path}`, schema: byName(meta.inputs) };
}

async function remoteSchema(spec: LoaderTarget, service: string, s: TargetSettings): Promise<SourceSchema | undefined> {
  try {
    if (spec.protocol === 'grpc') {
      const client = createLoaderClient(spec.address, {}, s.tls, s.credentials);
      try {
        const m = await metadata(client, service);
        return schemaOf(m.inputs as { key: string; type: DataType }[]);
      } finally {
        client.close();
      }
    }
    const url = new URL(`${spec.url.replace(/\/+$/, '')}/v1/metadata`);
    url.searchParams.set('service', service);
    const res = await request(url);
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    return byName(((await res.body.json()) as { inputs: Record<string, { type: DataTypeName }> }).inputs);
  } catch {
    // Unknown schema: a folder then needs --key, and CSV columns go as text.
    return undefined;
  }
}

export async function openTarget(spec: BatchTargetSpec, service: string | undefined, s: TargetSettings): Promise<OpenedTarget> {
  if (spec.kind === 'plugin') return inProcess(spec.path, service, s);
  if (service === undefined) throw invalidBatchOption('give the service after the target: aiges batch <target> <service>');
  const options = {
    service,
    params: {},
    timeoutMs: s.timeoutMs,
    concurrency: s.concurrency,
    credentials: s.credentials,
    tls: s.tls,
    outputs: true,
  };
  const schema = await remoteSchema(spec, service, s);
  if (spec.protocol === 'grpc') {
    const target = both(grpcTarget(spec.address, options), grpcV2(spec.address, options));
    return { target, service, describe: `grpc ${spec.address}`, schema };
  }
  return { target: both(httpTarget(spec.url, options), httpV2(spec.url, options)), service, describe: `http ${spec.url}`, schema };
}
