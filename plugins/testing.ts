/**
 * Test helpers for plugin authors (`import { createHarness } from 'aiges-ts/testing'`): runs a
 * wrapper through the loader's real data plane (validation, admission, deadlines, sessions)
 * in-process, without servers.
 */
import { pino } from 'pino';
import { ConfigSchema } from '../loader/config/schema.js';
import { Dataplane, type DataplaneLimits } from '../loader/dataplane/dataplane.js';
import type { Session } from '../loader/dataplane/session.js';
import { LoaderMetrics } from '../loader/metrics.js';
import { PluginInstance } from '../loader/plugin/instance.js';
import { PluginRegistry } from '../loader/plugin/registry.js';
import {
  DATA_TYPE_BY_NAME,
  DataStatus,
  type DataItem,
  type DataTypeName,
  type Wrapper,
  type WrapperConfig,
  type WrapperDefinition,
} from './types.js';
import { isWrapper } from './define.js';

export interface HarnessOptions {
  /** The `[wrapper]` config passed to init. */
  config?: WrapperConfig;
  /** Overrides of `[limits]`. */
  limits?: Partial<DataplaneLimits>;
  concurrency?: number;
}

export interface Harness {
  readonly dataplane: Dataplane;
  readonly service: string;
  /** A once call; params are strings as on the wire. */
  infer(items: DataItem[], params?: Record<string, string>, options?: { timeoutMs?: number }): Promise<DataItem[]>;
  /** Opens a session. */
  session(params?: Record<string, string>): Promise<Session>;
  /** Runs a whole session: writes each frame, ends input, returns every result batch. */
  runSession(frames: DataItem[][], params?: Record<string, string>): Promise<DataItem[][]>;
  /** Calls fini. */
  close(): Promise<void>;
}

/** Builds an input item; `data` strings are UTF-8. */
export function item(
  key: string,
  data: Buffer | string,
  options: { type?: DataTypeName; status?: DataStatus; encoding?: string; attributes?: Record<string, string> } = {},
): DataItem {
  return {
    key,
    type: DATA_TYPE_BY_NAME[options.type ?? 'text'],
    status: options.status ?? DataStatus.ONCE,
    encoding: options.encoding ?? '',
    attributes: options.attributes ?? {},
    data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
  };
}

/**
 * Runs a wrapper in-process. Takes any definition (typed against whichever SDK copy made it);
 * it must still have been made by defineWrapper.
 */
export async function createHarness(wrapper: WrapperDefinition<unknown>, options: HarnessOptions = {}): Promise<Harness> {
  if (!isWrapper(wrapper)) throw new TypeError('createHarness expects a wrapper made by defineWrapper()');
  const log = pino({ level: 'silent' });
  const limits = { ...ConfigSchema.parse({}).limits, ...options.limits };
  const metrics = new LoaderMetrics({ defaultMetrics: false });
  const registry = new PluginRegistry(log, () => undefined);
  const instance = await PluginInstance.create({
    wrapper: wrapper as Wrapper,
    config: options.config ?? {},
    log,
    concurrency: options.concurrency ?? limits.capacity,
    initTimeoutMs: 60_000,
    meter: () => undefined,
  });
  registry.put(instance);
  const dataplane = new Dataplane(registry, limits, metrics, log);
  const service = wrapper.id;
  const session = (params: Record<string, string> = {}) => dataplane.openSession({ service, params, headers: {} });
  return {
    dataplane,
    service,
    infer: (items, params = {}, opts = {}) =>
      dataplane.infer(
        { service, params, headers: {}, items },
        opts.timeoutMs === undefined ? {} : { deadline: Date.now() + opts.timeoutMs },
      ),
    session,
    async runSession(frames, params) {
      const s = await session(params);
      const collected: DataItem[][] = [];
      const reading = (async () => {
        for await (const r of s.results()) if (r.items.length > 0) collected.push(r.items);
      })();
      try {
        for (const frame of frames) await s.write(frame);
        await s.end();
      } catch (err) {
        await reading.catch(() => undefined);
        throw err;
      }
      await reading;
      return collected;
    },
    close: async () => {
      await instance.finalise(10_000);
    },
  };
}
