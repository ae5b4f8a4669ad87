/**
 * The loader's side of the worker threads of one `isolation = "worker"` plugin: a fixed pool of
 * threads (piscina), each holding the plugin module and, per instance set, what its init returned.
 *
 * - Size: `min(plugin.concurrency, cores)` threads (concurrency resolved: 0 is the capacity), each
 *   taking up to `ceil(concurrency / threads)` execs at once, so the pool holds every exec the
 *   exec slots let through without queueing; a CPU-bound exec keeps one core busy, never the
 *   loader's event loop. Threads never retire while the plugin is loaded.
 * - Execs are pool tasks: piscina sends each to the least busy thread. The call's signal firing is
 *   passed to every thread (an abort is rare; the thread running it acts on it).
 * - Sessions are pinned to one thread for their life (the one with the fewest sessions), over a
 *   port of their own (session.ts).
 * - A thread that dies fails its execs and sessions with 10109 (CRASH); piscina starts another,
 *   which imports the plugin and initialises every live set before it takes work. While no
 *   thread can take work the plugin's sets report not ready.
 *
 * NOTE: piscina rather than tinypool: piscina fails the tasks of a thread that exits
 * (process.exit, out of memory) and replaces it, where tinypool 2 listens only for a thread's
 * errors and would leave those tasks pending; and piscina passes a thread's own `parentPort`
 * messages on as pool events (how each thread hands over its control port), which tinypool
 * takes for an error and ends the thread.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, type Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { onContextEnd } from '../../dataplane/context.js';
import { AigesError, Codes } from '../../errors.js';
import type { Logger } from '../../log.js';
import type {
  CallContext,
  InferRequest,
  InitContext,
  OutputItem,
  Params,
  Logger as PluginLogger,
  WrapperConfig,
} from '../../../plugins/types.js';
import type { PluginInstance } from '../instance.js';
import type { IsolatedLoad } from '../isolation.js';
import { ThreadSessionProxy } from './session.js';
import {
  type Description,
  type ExecResult,
  type ExecTask,
  type FromThread,
  fromWireError,
  type Hello,
  isHello,
  itemsFromWire,
  itemsToWire,
  type ThreadData,
  type ToThread,
  toWireError,
} from './wire.js';

/** What the loader keeps as an instance set's state: the sets' own states live in the threads. */
export interface SetToken {
  readonly set: number;
}

interface Thread {
  readonly id: number;
  readonly control: MessagePort;
  /** It imported the plugin. */
  loaded: boolean;
  /** It takes execs and sessions (told `start`). */
  started: boolean;
  /** Sets initialised here, and inits running here. */
  readonly sets: Set<number>;
  readonly initing: Map<number, Promise<Error | undefined>>;
  sessions: number;
  /** Replies awaited, by `<op>:<set>`; called with undefined when the thread dies. */
  readonly replies: Map<string, (reply: FromThread | undefined) => void>;
  gone: boolean;
}

interface SetEntry {
  readonly config: WrapperConfig;
  readonly log: PluginLogger;
  readonly meter: (key: string, count?: number) => void;
  instance?: PluginInstance;
}

const SOURCE = import.meta.url.endsWith('.ts');

/** Threads run the built thread.js; from source (tests, tsx), thread.ts under tsx. */
function threadEntry(): { filename: string; execArgv: string[] } {
  const filename = new URL(`./thread.${SOURCE ? 'ts' : 'js'}`, import.meta.url).href;
  if (!SOURCE) return { filename, execArgv: [] };
  return { filename, execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] };
}

export class PluginThreads {
  readonly size: number;
  readonly #pool: Piscina;
  readonly #request: IsolatedLoad;
  readonly #threads = new Map<number, Thread>();
  readonly #sets = new Map<number, SetEntry>();
  #description: Description | undefined;
  #loading: { loaded: number; resolve: (d: Description) => void; reject: (e: Error) => void } | undefined;
  readonly #loaded: Promise<Description>;
  #closing: Promise<void> | undefined;
  #nextSet = 0;
  #nextCall = 0;
  /** The contexts of execs running on the threads, by call id: where their ctx.infer goes. */
  readonly #calls = new Map<number, CallContext<unknown>>();

  constructor(request: IsolatedLoad) {
    this.#request = request;
    const concurrency = Math.max(1, request.settings.concurrency);
    this.size = Math.min(concurrency, availableParallelism());
    this.#loaded = new Promise<Description>((resolve, reject) => {
      this.#loading = { loaded: 0, resolve, reject };
    });
    const { filename, execArgv } = threadEntry();
    this.#pool = new Piscina({
      filename,
      execArgv,
      workerData: { entry: request.location.entry, dir: request.location.dir } satisfies ThreadData,
      minThreads: this.size,
      maxThreads: this.size,
      concurrentTasksPerWorker: Math.ceil(concurrency / this.size),
      idleTimeout: Number.POSITIVE_INFINITY,
      // NOTE: not 'sync': an idle thread would block in Atomics.wait, and sessions, timers and
      // control messages of the plugin must run between execs.
      atomics: 'disabled',
      recordTiming: false,
    });
    this.#pool.on('message', (message: unknown) => {
      if (isHello(message)) this.#hello(message);
    });
    // Errors of a thread that runs no task (its own fault handlers take the plugin's).
    this.#pool.on('error', (err: unknown) => request.log.warn({ err, plugin: request.location.entry }, 'worker thread error'));
  }

  get #log(): Logger {
    return this.#request.log;
  }

  /** Resolves with what the plugin declares once every thread imported it; else rejects (10901) and closes the pool. */
  loaded(): Promise<Description> {
    return this.#loaded.catch(async (err: unknown) => {
      await this.close();
      throw err;
    });
  }

  // ------------------------------------------------------------------------------------------
  // The wrapper's methods (isolation.ts makes the Wrapper of them).

  /** Initialises a new instance set in every thread; its state there is the plugin's, here a token. */
  async init(config: WrapperConfig, ctx: InitContext): Promise<SetToken> {
    const set = ++this.#nextSet;
    this.#sets.set(set, { config, log: ctx.log, meter: ctx.meter });
    const onAbort = () => this.#broadcast({ op: 'init-abort', set });
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const threads = [...this.#threads.values()].filter((t) => t.loaded);
      const errors = await Promise.all(threads.map((t) => this.#initOn(t, set)));
      const error = errors.find((e) => e !== undefined);
      if (error !== undefined) throw error;
      if (ctx.signal.aborted) throw ctx.signal.reason;
      for (const t of threads) this.#start(t);
    } catch (err) {
      await this.#drop(set);
      throw err;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    return { set };
  }

  /** Called with each instance set made of this plugin (for its readiness). */
  attach(instance: PluginInstance): void {
    const entry = this.#sets.get((instance.state as SetToken).set);
    if (entry !== undefined) entry.instance = instance;
    this.#checkRunning();
  }

  exec(request: InferRequest, ctx: CallContext<unknown>): Promise<readonly OutputItem[]> {
    const transfer: Transferable[] = [];
    const call = ++this.#nextCall;
    const task: ExecTask = {
      call,
      set: (ctx.state as SetToken).set,
      sid: ctx.sid,
      deadline: ctx.deadline,
      level: this.#log.levelVal,
      service: request.service,
      params: request.params,
      headers: request.headers,
      items: itemsToWire(request.items, transfer),
    };
    const unsubscribe = onContextEnd(ctx, (reason) => this.#broadcast({ op: 'abort', call, reason: toWireError(reason) }));
    this.#calls.set(call, ctx);
    return (this.#pool.run(task, { transferList: transfer }) as Promise<ExecResult>).then(
      (result) => {
        this.#calls.delete(call);
        unsubscribe();
        if (!result.ok) throw fromWireError(result.error);
        return itemsFromWire<OutputItem>(result.items);
      },
      (err: unknown) => {
        this.#calls.delete(call);
        unsubscribe();
        throw new AigesError(Codes.CRASH, `the plugin's worker thread died during the call (${(err as Error).message})`, { cause: err });
      },
    );
  }

  /** Opens a session on the thread with the fewest. */
  openSession(params: Params, ctx: CallContext<unknown>): Promise<ThreadSessionProxy> {
    let thread: Thread | undefined;
    for (const t of this.#threads.values()) if (t.started && (thread === undefined || t.sessions < thread.sessions)) thread = t;
    if (thread === undefined) return Promise.reject(new AigesError(Codes.CRASH, 'no worker thread of the plugin is running'));
    const t = thread;
    const { port1, port2 } = new MessageChannel();
    t.sessions++;
    const proxy = new ThreadSessionProxy(port1, t.id, ctx, () => t.sessions--);
    const open: ToThread = {
      op: 'session',
      set: (ctx.state as SetToken).set,
      sid: ctx.sid,
      deadline: ctx.deadline,
      params,
      level: this.#log.levelVal,
      port: port2,
    };
    t.control.postMessage(open, [port2]);
    return proxy.created();
  }

  /** Finalises an instance set in every thread; with the last set, the threads end. */
  async fini(state: unknown): Promise<void> {
    const set = (state as SetToken).set;
    const outcome = await this.#drop(set);
    if (outcome !== undefined) throw outcome;
  }

  /** Ends every thread (what is running is dropped). */
  close(): Promise<void> {
    this.#closing ??= this.#pool.destroy();
    return this.#closing;
  }

  // ------------------------------------------------------------------------------------------

  /** Drops a set: fini where it was initialised (or is being); the first fini error, if any. */
  async #drop(set: number): Promise<Error | undefined> {
    this.#sets.delete(set);
    const threads = [...this.#threads.values()].filter((t) => t.sets.has(set) || t.initing.has(set));
    const replies = await Promise.all(threads.map((t) => this.#ask(t, { op: 'fini', set }, `finished:${set}`)));
    for (const t of threads) t.sets.delete(set);
    if (this.#sets.size === 0) await this.close();
    for (const reply of replies) if (reply?.op === 'finished' && reply.error !== undefined) return fromWireError(reply.error);
    return undefined;
  }

  /** Initialises `set` on a thread (once, however often asked); its error, undefined when it is done or the thread died. */
  #initOn(t: Thread, set: number): Promise<Error | undefined> {
    if (t.sets.has(set)) return Promise.resolve(undefined);
    let running = t.initing.get(set);
    if (running === undefined) {
      const entry = this.#sets.get(set);
      if (entry === undefined) return Promise.resolve(undefined); // dropped meanwhile
      running = this.#ask(t, { op: 'init', set, config: entry.config, level: this.#log.levelVal }, `init:${set}`).then((reply) => {
        t.initing.delete(set);
        if (reply?.op === 'inited') t.sets.add(set);
        return reply?.op === 'init-failed' ? fromWireError(reply.error) : undefined;
      });
      t.initing.set(set, running);
    }
    return running;
  }

  #start(t: Thread): void {
    if (t.started || t.gone) return;
    t.started = true;
    t.control.postMessage({ op: 'start' } satisfies ToThread);
    this.#checkRunning();
  }

  /** A thread that came after the load (a replacement): every live set, then work. */
  async #prepare(t: Thread): Promise<void> {
    for (;;) {
      const missing = [...this.#sets.keys()].filter((set) => !t.sets.has(set));
      if (missing.length === 0) break;
      for (const set of missing) {
        const error = await this.#initOn(t, set);
        if (t.gone) return;
        if (error !== undefined) {
          this.#log.error({ err: error, plugin: this.#request.location.entry, thread: t.id }, 'a new worker thread failed init: ending it');
          this.#pool.threads.find((w) => w.threadId === t.id)?.terminate();
          return;
        }
      }
    }
    this.#start(t);
  }

  #hello(hello: Hello): void {
    const t: Thread = {
      id: hello.thread,
      control: hello.control,
      loaded: false,
      started: false,
      sets: new Set(),
      initing: new Map(),
      sessions: 0,
      replies: new Map(),
      gone: false,
    };
    this.#threads.set(t.id, t);
    t.control.on('message', (message: FromThread) => this.#onMessage(t, message));
    t.control.unref();
    // NOTE: the thread's exit, not its control port closing (which comes first): by then the pool
    // has taken the thread out, so no new exec goes to it once we say it is gone.
    const worker = this.#pool.threads.find((w) => w.threadId === t.id);
    if (worker !== undefined) worker.once('exit', (code: number) => this.#gone(t, code));
    else t.control.once('close', () => this.#gone(t, undefined));
  }

  #onMessage(t: Thread, message: FromThread): void {
    switch (message.op) {
      case 'loaded': {
        t.loaded = true;
        this.#description ??= message.plugin;
        const loading = this.#loading;
        if (loading === undefined) {
          void this.#prepare(t);
        } else if (++loading.loaded === this.size) {
          this.#loading = undefined;
          loading.resolve(this.#description);
        }
        return;
      }
      case 'load-failed': {
        const error = fromWireError(message.error);
        const loading = this.#loading;
        this.#loading = undefined;
        if (loading !== undefined) loading.reject(new AigesError(Codes.PLUGIN_INIT, error.message, { cause: error }));
        else {
          this.#log.error({ err: error, thread: t.id }, 'a new worker thread could not import the plugin: ending it');
          this.#pool.threads.find((w) => w.threadId === t.id)?.terminate();
        }
        return;
      }
      case 'inited':
      case 'init-failed':
        this.#reply(t, `init:${message.set}`, message);
        return;
      case 'finished':
        this.#reply(t, `finished:${message.set}`, message);
        return;
      case 'log': {
        const log: PluginLogger = this.#sets.get(message.set)?.log ?? this.#log.child({ service: this.#description?.id, thread: t.id });
        const { obj, bindings } = message;
        if (obj instanceof Error) log[message.level]({ ...bindings, err: obj }, message.msg);
        else if (typeof obj === 'object' && obj !== null) log[message.level]({ ...bindings, ...obj }, message.msg);
        else log[message.level](bindings, typeof obj === 'string' ? obj : message.msg);
        return;
      }
      case 'meter':
        this.#sets.get(message.set)?.meter(message.key, message.count);
        return;
      case 'infer':
        this.#infer(t, message);
        return;
      case 'fault': {
        const { error } = message;
        this.#request.faults.report({
          service: this.#description?.id ?? '',
          kind: message.kind,
          error: error.notError === true ? error.message : fromWireError(error),
          sid: message.sid,
          plugin: this.#request.location.entry,
          isolation: 'worker',
          thread: t.id,
        });
        return;
      }
    }
  }

  /** An exec's ctx.infer, made by its call here; the answer's items are copied back (the callee may keep them). */
  #infer(t: Thread, message: Extract<FromThread, { op: 'infer' }>): void {
    const ctx = this.#calls.get(message.call);
    const answer =
      ctx === undefined
        ? Promise.reject(new AigesError(Codes.INVALID_OP, 'ctx.infer: the calling exec is over'))
        : ctx.infer(message.service, message.request, message.options);
    answer.then(
      (a) => this.#post(t, { op: 'infer-done', id: message.id, items: [...a.items], error: undefined }),
      (err: unknown) => this.#post(t, { op: 'infer-done', id: message.id, items: undefined, error: toWireError(err) }),
    );
  }

  #post(t: Thread, message: ToThread): void {
    try {
      t.control.postMessage(message);
    } catch {
      // the thread is gone: its exec fails with it
    }
  }

  /** Posts `message` and waits for the reply under `key` (undefined if the thread dies first). */
  #ask(t: Thread, message: ToThread, key: string): Promise<FromThread | undefined> {
    if (t.gone) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      t.replies.set(key, resolve);
      t.control.postMessage(message);
    });
  }

  #reply(t: Thread, key: string, message: FromThread): void {
    const resolve = t.replies.get(key);
    t.replies.delete(key);
    resolve?.(message);
  }

  #broadcast(message: ToThread): void {
    for (const t of this.#threads.values()) if (!t.gone) t.control.postMessage(message);
  }

  /** A thread ended. */
  #gone(t: Thread, code: number | undefined): void {
    if (t.gone) return;
    t.gone = true;
    this.#threads.delete(t.id);
    for (const resolve of t.replies.values()) resolve(undefined);
    t.replies.clear();
    const why = `worker thread ${t.id} exited${code === undefined ? '' : ` with code ${code}`}`;
    const loading = this.#loading;
    if (loading !== undefined) {
      this.#loading = undefined;
      loading.reject(new AigesError(Codes.PLUGIN_INIT, `cannot load plugin ${this.#request.location.entry}: ${why} while importing it`));
      return;
    }
    if (this.#closing !== undefined) return;
    this.#request.faults.report({
      service: this.#description?.id ?? '',
      kind: 'worker_exit',
      error: new Error(`${why}; its calls were answered 10109 and a new thread replaces it`),
      plugin: this.#request.location.entry,
      isolation: 'worker',
      thread: t.id,
    });
    this.#checkRunning();
  }

  /** Blocks the plugin's sets while no thread can take work, unblocks when one can. */
  #checkRunning(): void {
    let started = 0;
    for (const t of this.#threads.values()) if (t.started) started++;
    for (const entry of this.#sets.values()) {
      const instance = entry.instance;
      if (instance === undefined) continue;
      if (started === 0 && this.#closing === undefined) {
        instance.block('worker-threads', `no worker thread of ${instance.service} can take calls (replacing them)`);
      } else instance.unblock('worker-threads');
    }
  }
}
