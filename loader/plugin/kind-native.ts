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
import { z } from 'zod';
import { AigesError, Codes } from '../errors.js';
import { defineWrapper } from '../../plugins/define.js';
import { ResultQueue } from '../../plugins/result-queue.js';
import type { DataItem, DataStatus, DataType, OutputItem, Wrapper, WrapperSchema } from '../../plugins/types.js';
import { type NativeLibrary, type NativeSession, openLibrary, releaseOutput } from '../../native/host.js';
import type { PluginKind } from './kinds.js';
import { ANY_KEY } from './schema.js';

/** `[plugin.native]`: what a C library cannot say about itself. */
export const NativeSection = z
  .object({
    /** The service id clients name (a C library has none of its own). */
    service: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .default('native'),
    /** Which modes the library implements; decides the symbols it must export. */
    mode: z.enum(['once', 'session']).default('once'),
    /** Use wrapperExecAsync / callback sessions instead of wrapperExec / wrapperRead. */
    async: z.boolean().default(false),
    version: z.string().optional(),
    /**
     * µs an idle native worker polls for the next call before it sleeps, and the event loop
     * waits for a short sync once call's result (0: never spin). Absent: the host's default
     * (native/host.ts DEFAULT_SPIN_US).
     */
    spin_us: z.number().int().min(0).max(1000).optional(),
    /**
     * Sessions: how long to wait for the final result (END/ONCE) after the last input or the last
     * new result before the session ends with 10908 (sync) / 10910 (async). Absent: the host's
     * default, AIGes's 100 reads × 50 ms.
     */
    final_read_wait_ms: z.number().int().min(1).max(3_600_000).optional(),
    /** Sync sessions: the longest pause between two reads while waiting for the final result. */
    read_interval_ms: z.number().int().min(1).max(1000).optional(),
  })
  .strict();

export type NativeSection = z.infer<typeof NativeSection>;

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

/** Settles like `work`, or rejects with the signal's reason when it aborts first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function stringParams(params: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
}

export const nativeKind: PluginKind = {
  name: 'native',
  extensions: ['.so', '.dylib'],
  section: NativeSection.prefault({}),
  // wrapperInit/wrapperFini are library-wide and dlopen shares one copy per process.
  sideBySide: false,
  // Large outputs live in the host's pooled blocks: give them back once serialized (native/host.ts).
  releaseOutput(data) {
    releaseOutput(data);
  },
  async load(location, settings) {
    const native = NativeSection.parse(settings.section ?? {});
    // One worker thread per exec slot: the library runs as many calls at once as the loader lets in.
    const threads = Math.max(1, settings.concurrency);
    let meter: ((usrTag: string, key: string, count: number) => void) | undefined;
    let lib: NativeLibrary;
    try {
      lib = await openLibrary(location.entry, {
        mode: native.mode,
        async: native.async,
        threads,
        // Alone in a plugin process with one exec slot: its JS thread has nothing else to do
        // while a sync wrapperExec runs, so it runs it (no hand-over to a worker and back).
        callerThread: settings.ownProcess === true && threads === 1 && native.mode === 'once' && !native.async,
        realTimeRlt: settings.aiges.realTimeRlt,
        ...(native.spin_us !== undefined ? { spinUs: native.spin_us } : {}),
        ...(native.final_read_wait_ms !== undefined ? { finalReadWaitMs: native.final_read_wait_ms } : {}),
        ...(native.read_interval_ms !== undefined ? { readIntervalMs: native.read_interval_ms } : {}),
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
          const pending = library.exec(ctx.sid, stringParams(request.params), request.items.map(toNative), ctx.deadline - Date.now());
          // An async exec whose callback never comes holds no worker thread: stop waiting for it
          // when the call is over, so its exec slot goes back (a sync one holds its worker until
          // wrapperExec returns, and its slot with it).
          const out = await (native.async ? untilAborted(pending, ctx.signal) : pending);
          return out.map(fromNative);
        },
      }) as Wrapper;
    }
    return defineWrapper({
      ...definition,
      session: {
        async create(params, ctx) {
          const results = new ResultQueue();
          // A slow client fills the queue: the host then holds the wrapper (no further read or
          // write) until the queue has room again. Results may come before createSession returns.
          let host: NativeSession | undefined;
          let resumeOwed = false;
          const resume = () => {
            if (host !== undefined) host.resume();
            else resumeOwed = true;
          };
          const session = await library.createSession(ctx.sid, stringParams(params), (items, err) => {
            if (err !== null) results.fail(err);
            else if (items === null) results.close();
            else {
              const room = results.push(items.map(fromNative));
              if (room === undefined) return true;
              void room.then(resume);
              return false;
            }
            return undefined;
          });
          host = session;
          if (resumeOwed) session.resume();
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
