/**
 * Test helpers for plugin authors (`import { createHarness } from 'aiges-ts/testing'`): runs a
 * wrapper through the loader's real data plane (validation, admission, deadlines, sessions)
 * in-process, without servers. The one part of the SDK that reaches into the loader.
 */
import { pino } from 'pino';
import { ConfigSchema, execConcurrency } from '../loader/config/schema.js';
import type { DataplaneLimits, Dataplane } from '../loader/dataplane/dataplane.js';
import { ResultBuffer } from '../loader/dataplane/results.js';
import { createPlane } from '../loader/plane.js';
import { isWrapper } from './define.js';
import {
  DATA_TYPE_BY_NAME,
  DataStatus,
  type DataItem,
  type DataTypeName,
  type SessionResult,
  type TensorInfo,
  type Wrapper,
  type WrapperConfig,
  type WrapperDefinition,
} from './types.js';

export interface HarnessOptions {
  /** The `[wrapper]` config passed to init. */
  config?: WrapperConfig;
  /** Overrides of `[limits]`. */
  limits?: Partial<DataplaneLimits>;
  /** `[plugin] concurrency` (0 or absent: the capacity). */
  concurrency?: number;
}

/** A session opened through the harness. */
export interface HarnessSession {
  readonly sid: string;
  /** Feeds one frame; rejects with the error that ended the session. */
  write(items: DataItem[]): Promise<void>;
  /** No more input. */
  end(): Promise<void>;
  /** The results as the plugin makes them, the last with status END; throws the error that ended the session. */
  readonly results: AsyncIterable<SessionResult>;
  /** Ends the session from outside, as a client going away does (10202). */
  cancel(): void;
}

export interface Harness {
  readonly dataplane: Dataplane;
  readonly service: string;
  /** A once call; params are strings as on the wire. */
  infer(items: DataItem[], params?: Record<string, string>, options?: { timeoutMs?: number }): Promise<DataItem[]>;
  /** Opens a session. */
  session(params?: Record<string, string>): Promise<HarnessSession>;
  /** Runs a whole session: writes each frame, ends input, returns every non-empty result batch. */
  runSession(frames: DataItem[][], params?: Record<string, string>): Promise<DataItem[][]>;
  /** Calls fini. */
  close(): Promise<void>;
}

/** Builds an input item; `data` strings are UTF-8; with `tensor`, a tensor item (`data` its elements, see tensorData). */
export function item(
  key: string,
  data: Buffer | string,
  options: {
    type?: DataTypeName;
    status?: DataStatus;
    encoding?: string;
    attributes?: Record<string, string>;
    tensor?: TensorInfo;
  } = {},
): DataItem {
  const built: DataItem = {
    key,
    type: DATA_TYPE_BY_NAME[options.type ?? 'text'],
    status: options.status ?? DataStatus.ONCE,
    encoding: options.encoding ?? '',
    attributes: options.attributes ?? {},
    data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
  };
  if (options.tensor !== undefined) built.tensor = options.tensor;
  return built;
}

/**
 * Runs a wrapper in-process. Takes any definition (typed against whichever SDK copy made it);
 * it must still have been made by defineWrapper.
 */
export async function createHarness(wrapper: WrapperDefinition<unknown>, options: HarnessOptions = {}): Promise<Harness> {
  if (!isWrapper(wrapper)) throw new TypeError('createHarness expects a wrapper made by defineWrapper()');
  const config = ConfigSchema.parse({ limits: options.limits ?? {}, plugin: { concurrency: options.concurrency ?? 0 } });
  const { registry, dataplane } = createPlane(config, pino({ level: 'silent' }));
  const instance = await registry.loadWrapper(wrapper as Wrapper, {
    config: options.config ?? {},
    concurrency: execConcurrency(config),
    initTimeoutMs: config.plugin.init_timeout_ms,
  });
  const service = wrapper.id;
  const session = async (params: Record<string, string> = {}): Promise<HarnessSession> => {
    const s = await dataplane.openSession({ service, params, headers: {} });
    const results = new ResultBuffer();
    results.onResume(() => s.resume());
    s.start(results);
    return {
      sid: s.sid,
      write: async (items) => s.write(items),
      end: () => s.end(),
      results,
      cancel: () => s.cancel(),
    };
  };
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
        for await (const r of s.results) if (r.items.length > 0) collected.push(r.items);
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
      await instance.finalise(config.plugin.fini_timeout_ms);
    },
  };
}
