/**
 * The entry of a plugin process (`[plugin] isolation = "process"`). The loader (connection.ts)
 * starts it with `<parent pid>` as its argument, the channel on fd 3, a log pipe on fd 4 and, where
 * the platform has memory files, the shared region on fd 5. It loads the plugin with the kind code
 * the loader itself would use (kinds.ts, by name) and serves it over the channel: one init, once
 * calls, sessions, one fini (messages.ts). The loader owns everything else: validation, admission,
 * deadlines, readiness.
 *
 * It exits when the channel ends (the loader stopped it, or died); the kernel kills it if the
 * loader dies while its JS thread is stuck in a plugin (setParentDeathSignal). An uncaught error
 * of a plugin ends it as Node does (the stack on stderr, exit code 1): the loader sees a crash.
 */
import { Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { releaseOutput, setParentDeathSignal, sharedOutputArena, useSharedRegionForOutputs } from '../../../native/host.js';
import { type AigesCode, AigesError } from '../../../plugins/errors.js';
import type { ResultSource } from '../../../plugins/result-queue.js';
import {
  type CallContext,
  DataStatus,
  type InitContext,
  type Params,
  type ServiceCallOptions,
  type ServiceRequest,
  type ServiceResponse,
  type Wrapper,
  type WrapperConfig,
  type WrapperSession,
} from '../../../plugins/types.js';
import { ServiceAnswer } from '../../../plugins/service-answer.js';
import { resultSourceOf } from '../../dataplane/results.js';
import { type PluginKind, pluginKind } from '../kinds.js';
import { CompiledSchema } from '../schema.js';
import { Channel } from './channel.js';
import type { Frame } from './frames.js';
import {
  decodeError,
  decodeInputs,
  encodeError,
  encodeItems,
  encodeServiceRequest,
  Payloads,
  RESULT_WINDOW,
  type SharedOut,
  type ToChild,
  type ToParent,
} from './messages.js';
import { ARENA_BYTES, mapRegion, OUTPUT_ARENA_AT, SHARED_MIN_BYTES } from './shared-region.js';

const CHANNEL_FD = 3;
const LOG_FD = 4;
const REGION_FD = 5;

/** µs since `start` (performance.now()), whole: what a once call's answer says it took here (`work`). */
function usSince(start: number): number {
  return Math.round((performance.now() - start) * 1000);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** What a plugin gets with a call or session here: the loader's context, rebuilt from the message. */
class ChildContext implements CallContext<unknown> {
  #controller: AbortController | undefined;
  #reason: Error | undefined;
  #log: Logger | undefined;

  constructor(
    private readonly server: PluginServer,
    /** The loader's id of this call or session: what its ctx.infer is made under there. */
    readonly id: number,
    readonly sid: string,
    readonly deadline: number,
  ) {}

  get service(): string {
    return this.server.wrapper.id;
  }

  get config(): WrapperConfig {
    return this.server.config;
  }

  get state(): unknown {
    return this.server.state;
  }

  get meter(): (key: string, count?: number) => void {
    return this.server.meter;
  }

  get log(): Logger {
    return (this.#log ??= this.server.log.child({ sid: this.sid }));
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  infer(service: string, request: ServiceRequest, options?: ServiceCallOptions): Promise<ServiceResponse> {
    return this.server.relayInfer(this.id, service, request, options);
  }

  /** The loader's call ended (deadline, cancel, drain, session over): ctx.signal fires with its reason. */
  abort(reason: Error): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** One session of the plugin: its writes in order (the loader sends one at a time), its results by credit. */
class ChildSession {
  #credits = RESULT_WINDOW;
  #pumping = false;
  #done = false;
  readonly #pump = () => this.pump();

  constructor(
    private readonly server: PluginServer,
    readonly id: number,
    readonly ctx: ChildContext,
    readonly plugin: WrapperSession,
    readonly source: ResultSource,
  ) {}

  credit(n: number): void {
    this.#credits += n;
    this.pump();
  }

  /** Sends results while the loader has room for them (RESULT_WINDOW batches unread at most). */
  pump(): void {
    if (this.#pumping || this.#done) return;
    this.#pumping = true;
    try {
      while (this.#credits > 0 && !this.#done) {
        let next: IteratorResult<readonly unknown[], undefined> | undefined;
        try {
          next = this.source.poll();
        } catch (err) {
          this.#finish(err);
          return;
        }
        if (next === undefined) {
          this.source.onReadable(this.#pump);
          return;
        }
        if (next.done === true) {
          this.#finish(undefined);
          return;
        }
        this.#credits--;
        this.server.sendItems({ t: 'res', s: this.id, items: [] }, next.value, DataStatus.CONTINUE);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #finish(err: unknown): void {
    this.#done = true;
    this.server.send(err === undefined ? { t: 'rend', s: this.id } : { t: 'rend', s: this.id, err: encodeError(err) });
  }

  /** The loader destroys the session: nothing is read or sent for it any more. */
  stop(): void {
    this.#done = true;
    this.source.cancel();
  }
}

/** The plugin as this process serves it. */
class PluginServer {
  readonly channel: Channel;
  readonly baseLog: Logger;
  log!: Logger;
  kind!: PluginKind;
  wrapper!: Wrapper;
  schema!: CompiledSchema;
  config: WrapperConfig = {};
  state: unknown = undefined;
  region: ArrayBuffer | undefined;
  shared: SharedOut | undefined;
  readonly calls = new Map<number, ChildContext>();
  readonly sessions = new Map<number, ChildSession>();
  /** µs to poll the channel for the next call after answering one (connection.ts spinBudget). */
  spinUs = 0;
  #spinning = false;
  /** Whether the last once call followed the one before within the spin budget (its `gap`). */
  #nextCameSoon = false;
  readonly meter = (key: string, count = 1) => this.send({ t: 'meter', key, count });
  /** ctx.infer calls waiting for the loader's answer, by their own id. */
  readonly #inferring = new Map<number, { resolve(answer: ServiceResponse): void; reject(err: Error): void }>();
  #lastInfer = 0;

  constructor() {
    this.baseLog = pino({ level: 'info', base: undefined }, pino.destination({ dest: LOG_FD, sync: true }));
    const socket = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
    this.channel = new Channel(
      socket,
      (frame) => this.#onFrame(frame),
      () => process.exit(0),
    );
  }

  send(message: ToParent, payloads?: readonly Uint8Array[]): void {
    this.channel.send(message, payloads);
  }

  /**
   * A call's ctx.infer: the loader makes it under that call (connection.ts), as if the plugin ran
   * in its process. The request's bytes cross once (inline in the frame), the answer's once back;
   * the plugin's buffers stay its own.
   */
  relayInfer(call: number, service: string, request: ServiceRequest, options: ServiceCallOptions | undefined): Promise<ServiceResponse> {
    return new Promise((resolve, reject) => {
      const payloads = new Payloads();
      let wire: ReturnType<typeof encodeServiceRequest>;
      try {
        wire = encodeServiceRequest(request, payloads);
      } catch (err) {
        reject(err);
        return;
      }
      const id = ++this.#lastInfer;
      this.#inferring.set(id, { resolve, reject });
      this.send({ t: 'infer', id, call, service, ...wire, options: { ...options } }, payloads.list);
    });
  }

  /**
   * Checks outputs as the loader would (so a bad one fails the same way there, see invalid in
   * `ok` / `res`), then sends them; large bytes through the region. The plugin kind may take the
   * outputs' memory back once sent (the frame or the region holds a copy).
   */
  sendItems(message: Extract<ToParent, { t: 'ok' | 'res' }>, output: unknown, status: DataStatus): void {
    let items: ReturnType<CompiledSchema['outputItems']>;
    try {
      items = this.schema.outputItems(output, status);
    } catch (err) {
      message.invalid = encodeError(err);
      this.send(message);
      return;
    }
    const payloads = new Payloads();
    message.items = encodeItems(items, this.shared, payloads, []);
    this.send(message, payloads.list);
    // Copied into the frame or the region: the kind may take the memory back. Outputs sent where
    // they lie (the region) stay until the loader releases them.
    const release = this.kind.releaseOutput;
    if (release === undefined) return;
    for (const item of items) if (sharedOutputArena.offsetOf(item.data) < 0) release.call(this.kind, item.data);
  }

  /** The loader is done with an output block: give it back (a host output's, through its Buffer). */
  #release(at: number): void {
    const held = this.shared?.held;
    const data = held?.get(at);
    if (data === undefined) {
      this.shared?.arena.free(at);
      return;
    }
    held!.delete(at);
    releaseOutput(data);
  }

  #fail(id: number, err: unknown, work?: number): void {
    this.send({ t: 'err', id, err: encodeError(err), work });
  }

  /**
   * A once call was answered and nothing else is in flight: the next call often follows within
   * microseconds, so poll the channel for it a short while (from the event loop's check phase,
   * once per turn) instead of going to sleep at once — as long as the last one did follow within
   * the budget (else the polling only costs CPU). The loader says how soon it followed (`gap`):
   * measured here, the time would also count the loader's own wake-up when it did not poll for
   * the answer, and one slow call would then end polling on both sides for good.
   */
  #answered(): void {
    if (this.spinUs === 0 || !this.#nextCameSoon || this.#spinning || this.calls.size > 0 || this.sessions.size > 0) return;
    this.#spinning = true;
    setImmediate(() => {
      this.#spinning = false;
      if (this.calls.size === 0 && this.sessions.size === 0) this.channel.poll(this.spinUs, () => true);
    });
  }

  #onFrame({ header, payload }: Frame): void {
    const msg = header as ToChild;
    switch (msg.t) {
      case 'load':
        return void this.#load(msg).catch((err: unknown) => this.#fail(0, err));
      case 'init':
        return this.#settle(msg.id, () => this.#init(msg.config));
      case 'exec':
        return this.#exec(msg, payload);
      case 'cancel': {
        const reason = new AigesError(msg.code as AigesCode, msg.message);
        this.calls.get(msg.id)?.abort(reason);
        this.sessions.get(msg.id)?.ctx.abort(reason);
        return;
      }
      case 'open':
        return this.#open(msg);
      case 'write': {
        const session = this.sessions.get(msg.s);
        if (session === undefined) return this.#fail(msg.id, new Error('session is closed'));
        const items = decodeInputs(msg.items, payload, this.region);
        return this.#settle(msg.id, () => session.plugin.write(items));
      }
      case 'end': {
        const session = this.sessions.get(msg.s);
        if (session === undefined) return this.#fail(msg.id, new Error('session is closed'));
        return this.#settle(msg.id, () => session.plugin.end?.());
      }
      case 'destroy': {
        const session = this.sessions.get(msg.s);
        if (session === undefined) return this.send({ t: 'ok', id: msg.id });
        this.sessions.delete(msg.s);
        session.stop();
        return this.#settle(msg.id, () => session.plugin.destroy?.());
      }
      case 'credit':
        return this.sessions.get(msg.s)?.credit(msg.n);
      case 'release':
        for (const at of msg.at) this.#release(at);
        return;
      case 'level':
        this.baseLog.level = msg.level;
        return;
      case 'fini':
        return this.#settle(msg.id, () => this.wrapper.fini?.(this.state));
      case 'inferred': {
        const pending = this.#inferring.get(msg.id);
        this.#inferring.delete(msg.id);
        if (msg.err !== undefined) pending?.reject(decodeError(msg.err));
        else pending?.resolve(new ServiceAnswer(decodeInputs(msg.items ?? [], payload, undefined)));
        return;
      }
    }
  }

  /** Runs `work` and answers request `id` with ok or err when it settles. */
  #settle(id: number, work: () => unknown): void {
    let result: unknown;
    try {
      result = work();
    } catch (err) {
      return this.#fail(id, err);
    }
    if (!isThenable(result)) return this.send({ t: 'ok', id });
    result.then(
      () => this.send({ t: 'ok', id }),
      (err: unknown) => this.#fail(id, err),
    );
  }

  async #load(msg: Extract<ToChild, { t: 'load' }>): Promise<void> {
    this.baseLog.level = msg.level;
    this.spinUs = msg.spinUs;
    if (msg.region) {
      this.region = mapRegion(REGION_FD);
      // A native library's large outputs are written into the region by the host itself.
      useSharedRegionForOutputs(this.region, OUTPUT_ARENA_AT, ARENA_BYTES, SHARED_MIN_BYTES);
      this.shared = {
        arena: sharedOutputArena,
        bytes: new Uint8Array(this.region),
        offsetOf: sharedOutputArena.offsetOf,
        held: new Map(),
      };
    }
    this.kind = pluginKind(msg.location.kind);
    this.wrapper = await this.kind.load(msg.location, { ...msg.settings, ownProcess: true });
    this.schema = new CompiledSchema(this.wrapper.schema);
    this.log = this.baseLog.child({ service: this.wrapper.id });
    const { id, version, description, schema, batching } = this.wrapper;
    this.send({
      t: 'loaded',
      plugin: {
        id,
        version,
        description,
        schema,
        batching,
        exec: this.wrapper.exec !== undefined,
        session: this.wrapper.session !== undefined,
      },
    });
  }

  async #init(config: WrapperConfig): Promise<void> {
    this.config = config;
    const init = this.wrapper.init;
    if (init === undefined) return;
    // NOTE: never aborted: the loader kills this process when init overruns its timeout.
    const ctx: InitContext = { service: this.wrapper.id, log: this.log, config, meter: this.meter, signal: new AbortController().signal };
    this.state = await init(config, ctx);
  }

  #exec(msg: Extract<ToChild, { t: 'exec' }>, payload: Buffer): void {
    const { id } = msg;
    const started = performance.now();
    // Polling after an answer pays only while calls follow each other that closely.
    this.#nextCameSoon = msg.gap !== undefined && msg.gap <= this.spinUs;
    const ctx = new ChildContext(this, id, msg.sid, msg.deadline);
    const request = {
      service: msg.service,
      params: msg.params as Params,
      headers: msg.headers,
      items: decodeInputs(msg.items, payload, this.region),
    };
    this.calls.set(id, ctx);
    let output: unknown;
    try {
      output = this.wrapper.exec!(request, ctx);
    } catch (err) {
      this.calls.delete(id);
      this.#fail(id, err, usSince(started));
      return this.#answered();
    }
    const done = (value: unknown) => {
      this.calls.delete(id);
      this.sendItems({ t: 'ok', id, items: [], work: usSince(started) }, value, DataStatus.ONCE);
      this.#answered();
    };
    if (!isThenable(output)) return done(output);
    output.then(done, (err: unknown) => {
      this.calls.delete(id);
      this.#fail(id, err, usSince(started));
      this.#answered();
    });
  }

  #open(msg: Extract<ToChild, { t: 'open' }>): void {
    const { id } = msg;
    const ctx = new ChildContext(this, id, msg.sid, msg.deadline);
    this.calls.set(id, ctx);
    const opened = (made: unknown) => {
      this.calls.delete(id);
      const plugin = made as WrapperSession | undefined;
      if (typeof plugin?.write !== 'function' || typeof plugin?.results?.[Symbol.asyncIterator] !== 'function') {
        // The loader's own check then fails the session (10905), as for a plugin in its process.
        return this.send({ t: 'ok', id, invalid: { message: 'session.create must return { write, results }' } });
      }
      let source: ResultSource;
      try {
        source = resultSourceOf(plugin.results);
      } catch (err) {
        void Promise.resolve()
          .then(() => plugin.destroy?.())
          .catch(() => undefined);
        return this.#fail(id, err);
      }
      const session = new ChildSession(this, id, ctx, plugin, source);
      this.sessions.set(id, session);
      this.send({ t: 'ok', id });
      session.pump();
    };
    let made: unknown;
    try {
      made = this.wrapper.session!.create(msg.params as Params, ctx);
    } catch (err) {
      this.calls.delete(id);
      return this.#fail(id, err);
    }
    if (!isThenable(made)) return opened(made);
    made.then(opened, (err: unknown) => {
      this.calls.delete(id);
      this.#fail(id, err);
    });
  }
}

const parentPid = Number(process.argv[2]);
try {
  if (!setParentDeathSignal(parentPid)) process.exit(0);
} catch {
  // No native host build: the channel's end is the only sign of the loader's death.
}
new PluginServer();
