/**
 * The `native` kind: an AIGes C-ABI shared library, run by the native host addon (native/host.ts)
 * on native worker threads. The library has no schema of its own: `[plugin.schema]` declares one,
 * else any keys, item types and params are accepted. `[plugin.native]` names the service and the
 * mode (once or session, sync or async), which decide the symbols the library must export.
 *
 * Item mapping: an item's `encoding` and `attributes` travel in the node's `desc` list (AIGes
 * wrappers read `encoding`, `sample_rate`, ... there); on output, desc `encoding` becomes the
 * item's encoding, desc `datatype` + `shape` ("3,224,224") its tensor view, the rest attributes.
 */
import { AigesError, Codes } from '../errors.js';
import { defineWrapper } from '../../plugins/define.js';
import { ResultQueue } from '../../plugins/result-queue.js';
import type { DataItem, DataStatus, DataType, OutputItem, Wrapper, WrapperSchema } from '../../plugins/types.js';
import type { NativeLibrary } from '../../native/host.js';
import type { PluginKind } from './kinds.js';
import { ANY_KEY } from './schema.js';

/**
 * Result batches a native session may have waiting for a slow client. A native engine cannot be
 * paused, so past this the session fails (10908) rather than buffer without bound.
 */
export const MAX_PENDING_RESULTS = 1024;

/** Accepts anything: what a C library without a declared schema gets. */
const OPEN_SCHEMA: WrapperSchema = {
  input: { [ANY_KEY]: { type: 'other', required: false } },
  output: { [ANY_KEY]: { type: 'other' } },
  params: { [ANY_KEY]: { type: 'string' } },
};

interface NativeItemLike {
  key: string;
  data: Buffer;
  type: number;
  status: number;
  desc: Record<string, string>;
}

function toNative(item: DataItem): NativeItemLike {
  const desc: Record<string, string> = { ...item.attributes };
  if (item.encoding !== '') desc['encoding'] = item.encoding;
  if (item.tensor !== undefined) {
    desc['datatype'] = item.tensor.datatype;
    desc['shape'] = item.tensor.shape.join(',');
  }
  return { key: item.key, data: item.data, type: item.type, status: item.status, desc };
}

function fromNative(node: NativeItemLike): OutputItem {
  const { encoding, datatype, shape, ...attributes } = node.desc;
  const out: OutputItem = {
    key: node.key,
    data: node.data,
    type: node.type as DataType,
    status: node.status as DataStatus,
    attributes,
  };
  if (encoding !== undefined) out.encoding = encoding;
  if (datatype !== undefined && shape !== undefined) {
    out.tensor = {
      datatype,
      shape: shape
        .split(',')
        .filter((d) => d !== '')
        .map(Number),
    };
  }
  return out;
}

function stringParams(params: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
}

export const nativeKind: PluginKind = {
  name: 'native',
  // wrapperInit/wrapperFini are library-wide and dlopen shares one copy per process.
  sideBySide: false,
  async load(location, settings) {
    const { openLibrary } = await import('../../native/host.js');
    const native = settings.native ?? { service: 'native', mode: 'once' as const, async: false };
    const threads = Math.max(1, settings.concurrency || 4);
    let meter: ((usrTag: string, key: string, count: number) => void) | undefined;
    let lib: NativeLibrary;
    try {
      lib = await openLibrary(location.entry, {
        mode: native.mode,
        async: native.async,
        threads,
        ...(native.spin_us !== undefined ? { spinUs: native.spin_us } : {}),
        onMeter: (usrTag, key, count) => meter?.(usrTag, key, count),
      });
    } catch (err) {
      throw new AigesError(Codes.PLUGIN_INIT, (err as Error).message, { cause: err });
    }
    const library = lib;
    const definition = {
      id: native.service,
      version: native.version ?? library.version ?? '0.0.0',
      description: `AIGes C-ABI library ${library.path}`,
      schema: (settings.schema as WrapperSchema | undefined) ?? OPEN_SCHEMA,
      async init(config: Readonly<Record<string, unknown>>, ctx: { meter: (key: string, count?: number) => void }) {
        meter = (_tag, key, count) => ctx.meter(key, count);
        await library.init(stringParams(config));
        return library;
      },
      async fini() {
        await library.fini();
        library.close();
      },
    };
    if (native.mode === 'once') {
      return defineWrapper({
        ...definition,
        async exec(request, ctx) {
          const out = await library.exec(ctx.sid, stringParams(request.params), request.items.map(toNative), ctx.deadline - Date.now());
          return out.map(fromNative);
        },
      }) as Wrapper;
    }
    return defineWrapper({
      ...definition,
      session: {
        async create(params, ctx) {
          const results = new ResultQueue();
          const session = await library.createSession(ctx.sid, stringParams(params), (items, err) => {
            if (err !== null) results.fail(err);
            else if (items === null) results.close();
            else if (results.size >= MAX_PENDING_RESULTS) {
              results.fail(new AigesError(Codes.PLUGIN_READ, `client is not reading: more than ${MAX_PENDING_RESULTS} results pending`));
            }
            // NOTE: pushed unawaited: the host delivers results as the engine makes them.
            else void results.push(items.map(fromNative)).catch(() => undefined);
          });
          let lastItem: DataItem | undefined;
          let ended = false;
          return {
            async write(items) {
              if (items.length > 0) lastItem = items[items.length - 1];
              if (items.some((i) => i.status === 2)) ended = true;
              await session.write(items.map(toNative));
            },
            // A client that half-closes without an END frame: send AIGes's empty END frame.
            async end() {
              if (ended || lastItem === undefined) return;
              ended = true;
              await session.write([{ ...toNative(lastItem), data: Buffer.alloc(0), status: 2 }]);
            },
            results,
            destroy: () => session.destroy(),
          };
        },
      },
    }) as Wrapper;
  },
};
