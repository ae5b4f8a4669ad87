/**
 * The data plane: the only place requests are handled. Protocol adapters convert wire types to
 * RawRequest and call `infer` (once mode) or `openSession` (session mode); every feature
 * (validation, admission, deadlines, metrics, logging scope) lives here, so every protocol has it.
 */
import { randomUUID } from 'node:crypto';
import { AigesError, Codes, toAigesError, wrapPluginError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LoaderMetrics } from '../metrics.js';
import type { PluginRegistry } from '../plugin/registry.js';
import type { PluginInstance } from '../plugin/instance.js';
import type { JsonSchema } from '../plugin/schema.js';
import type { DataItem, ItemSpec, Params, RawRequest, WrapperSession } from '../../plugins/types.js';
import { Admission } from './admission.js';
import { PluginCallContext } from './context.js';
import { CallScope, type Cancellable } from './deadline.js';
import { DeadlineQueue } from './deadline-queue.js';
import { POOLED_MIN_BYTES, releaseOutput } from '../../native/host.js';
import { OnceCall } from './once-call.js';
import { Session } from './session.js';

export interface DataplaneLimits {
  capacity: number;
  default_deadline_ms: number;
  session_deadline_ms: number;
  session_idle_timeout_ms: number;
  max_message_bytes: number;
}

export interface CallOptions {
  /** Absolute deadline (epoch ms) the client set; the configured default applies otherwise. */
  deadline?: number | undefined;
  /** Fires when the client goes away. */
  signal?: AbortSignal | undefined;
  /**
   * The same as a subscription (cheaper than an AbortSignal per call): called once with the call
   * (or the session being opened); call its `cancel()` when the client goes away.
   */
  onCancel?: ((call: Cancellable) => void) | undefined;
}

/** The first message of a session: which service, with which params. */
export type SessionOpen = Omit<RawRequest, 'items'>;

export interface ServiceMetadata {
  service: string;
  version: string;
  description: string;
  inputs: Readonly<Record<string, ItemSpec>>;
  outputs: Readonly<Record<string, ItemSpec>>;
  paramsSchema: JsonSchema;
  supportsOnce: boolean;
  supportsSession: boolean;
  capacity: number;
}

const UNKNOWN_SERVICE_LABEL = '_unknown';

export class Dataplane {
  readonly admission: Admission;
  readonly #sessions = new Set<Session>();
  /** The deadlines of once calls that wait on something (an exec slot, an async exec). */
  readonly #deadlines = new DeadlineQueue();

  #limits: Readonly<DataplaneLimits>;

  constructor(
    private readonly registry: PluginRegistry,
    limits: Readonly<DataplaneLimits>,
    private readonly metrics: LoaderMetrics,
    private readonly log: Logger,
  ) {
    this.#limits = { ...limits };
    this.admission = new Admission(limits.capacity);
    metrics.capacity.set(limits.capacity);
  }

  get limits(): Readonly<DataplaneLimits> {
    return this.#limits;
  }

  /**
   * Hot config: new limits apply to calls and sessions admitted from now on; running ones keep the
   * deadlines and timeouts they started with. A capacity drop refuses new calls until enough admitted
   * ones end; it never cancels one. max_message_bytes is fixed at startup (the transports use it).
   */
  setLimits(limits: Readonly<DataplaneLimits>): void {
    this.#limits = { ...limits, max_message_bytes: this.#limits.max_message_bytes };
    this.admission.setCapacity(limits.capacity);
    this.metrics.capacity.set(limits.capacity);
  }

  /**
   * Once mode: validates, admits, runs the plugin under the deadline, returns its output. Errors
   * reject the promise (never thrown synchronously), always as an AigesError.
   */
  infer(raw: RawRequest, options: CallOptions = {}): Promise<DataItem[]> {
    const started = performance.now();
    let label = UNKNOWN_SERVICE_LABEL;
    let call: OnceCall;
    try {
      // NOTE: draining first: a loader on its way out answers 10101 (retry elsewhere) for every
      // call, even one that arrives after its plugins are unloaded (a balancer's Relay stream
      // outlives the drain by a moment).
      this.admission.checkAccepting();
      const instance = this.#instance(raw.service);
      label = instance.service;
      if (instance.wrapper.exec === undefined) {
        throw new AigesError(Codes.INVALID_SESSION_MODE, `service "${instance.service}" has no once mode; open a session`);
      }
      this.#checkSize(raw.items);
      const sid = raw.params['sid'] || randomUUID();
      const params = instance.schema.params(raw.params, sid);
      instance.schema.inputItems(raw.items, true);

      const timeoutMs = options.deadline === undefined ? this.#limits.default_deadline_ms : options.deadline - Date.now();
      const deadline = options.deadline ?? Date.now() + timeoutMs;
      const request = { service: label, params, headers: raw.headers, items: raw.items };
      const inflight = this.metrics.inflightOf(label);
      const service = label;
      call = new OnceCall(instance, request, sid, deadline, timeoutMs, this.#deadlines, (error) => {
        this.admission.releaseOnce();
        instance.leave();
        inflight.dec();
        this.#onceEnded(service, sid, started, error);
      });
      this.admission.acquireOnce();
      instance.enter();
      inflight.inc();
    } catch (err) {
      const error = toAigesError(err);
      this.#onceEnded(label, undefined, started, error);
      return Promise.reject(error);
    }
    options.onCancel?.(call);
    if (options.signal !== undefined) call.cancelOn(options.signal);
    return call.run();
  }

  #onceEnded(service: string, sid: string | undefined, started: number, error: AigesError | undefined): void {
    const code = error === undefined ? 0 : error.aigesCode;
    if (code === Codes.INTERNAL || code === Codes.PLUGIN_EXEC || code === Codes.INVALID_OUTPUT) {
      this.log.error({ err: error, service, sid }, (error as AigesError).message);
    }
    this.metrics.callEnded(service, 'once', code, (performance.now() - started) / 1000);
  }

  /**
   * An adapter is done with a once call's output (its bytes are serialized, nothing reads them
   * again): large outputs of native plugins give their memory back now, so the next call reuses
   * it (native/host.ts releaseOutput); every other item is left alone. The items read as empty
   * afterwards. Optional: without it the memory returns when V8 collects the Buffers.
   */
  releaseOutputs(items: readonly DataItem[]): void {
    for (const item of items) if (item.data.byteLength >= POOLED_MIN_BYTES) releaseOutput(item.data);
  }

  /**
   * Session mode: validates the open message, admits the session (it holds a slot until it
   * closes) and creates the plugin's session. The caller must drive it to completion or cancel it.
   */
  async openSession(open: SessionOpen, options: CallOptions = {}): Promise<Session> {
    const started = performance.now();
    let label = UNKNOWN_SERVICE_LABEL;
    const finish = (code: number) => {
      this.metrics.callEnded(label, 'session', code, (performance.now() - started) / 1000);
    };
    let instance: PluginInstance;
    let sid: string;
    let params: Params;
    try {
      this.admission.checkAccepting();
      instance = this.#instance(open.service);
      label = instance.service;
      if (instance.wrapper.session === undefined) {
        throw new AigesError(Codes.INVALID_SESSION_MODE, `service "${instance.service}" has no session mode; use once calls`);
      }
      sid = open.params['sid'] || randomUUID();
      params = instance.schema.params(open.params, sid);
    } catch (err) {
      const error = toAigesError(err);
      finish(error.aigesCode);
      throw error;
    }
    const create = instance.wrapper.session.create;
    const slot = this.#admit(finish);
    const unuse = instance.use();
    this.metrics.sessions.inc({ service: label });
    const timeoutMs = options.deadline === undefined ? this.#limits.session_deadline_ms : options.deadline - Date.now();
    const scope = new CallScope(
      options.deadline ?? Date.now() + this.#limits.session_deadline_ms,
      () => new AigesError(Codes.EXEC_TIMEOUT, `session deadline of ${Math.max(0, Math.round(timeoutMs))} ms exceeded`),
      options,
    );
    const release = (error: AigesError | undefined) => {
      scope.dispose();
      slot.release();
      unuse();
      this.metrics.sessions.dec({ service: label });
      finish(error?.aigesCode ?? 0);
    };
    let plugin: WrapperSession;
    try {
      const ctx = new PluginCallContext(instance, sid, scope);
      const made = Promise.resolve().then(() => create(params, ctx));
      // NOTE: a create that finishes after the deadline or a cancel made a session nobody will
      // drive; destroy it all the same (destroy is promised once, whatever happens).
      made.then((late) => (scope.aborted ? late?.destroy?.call(late) : undefined)).catch(() => undefined);
      plugin = await scope.race(made);
      if (typeof plugin?.write !== 'function' || typeof plugin?.results?.[Symbol.asyncIterator] !== 'function') {
        throw new AigesError(Codes.PLUGIN_CREATE, 'session.create must return { write, results }');
      }
    } catch (err) {
      const error =
        scope.aborted && err === scope.reason ? toAigesError(err) : wrapPluginError(err, Codes.PLUGIN_CREATE, 'session create failed');
      release(error);
      throw error;
    }
    const session: Session = new Session(sid, instance, plugin, scope, {
      idleTimeoutMs: this.#limits.session_idle_timeout_ms,
      maxMessageBytes: this.#limits.max_message_bytes,
      onFrame: this.metrics.framesOf(label),
      onClose: (error) => {
        this.#sessions.delete(session);
        if (error !== undefined && error.aigesCode !== Codes.CANCELLED) {
          this.log.warn({ sid, service: label, code: error.aigesCode }, `session ended: ${error.message}`);
        }
        release(error);
      },
    });
    this.#sessions.add(session);
    return session;
  }

  metadata(service?: string): ServiceMetadata {
    const instance = this.#instance(service ?? '');
    const w = instance.wrapper;
    return {
      service: w.id,
      version: w.version ?? '0.0.0',
      description: w.description ?? '',
      inputs: w.schema.input,
      outputs: w.schema.output,
      paramsSchema: instance.schema.paramsSchema,
      supportsOnce: w.exec !== undefined,
      supportsSession: w.session !== undefined,
      capacity: this.#limits.capacity,
    };
  }

  /** Refuses new calls from now on (10101); running ones go on. */
  stopAccepting(): void {
    this.admission.stopAccepting();
  }

  /** Waits up to `graceMs` for in-flight calls and sessions, then cancels the sessions left. */
  async drain(graceMs: number): Promise<boolean> {
    this.stopAccepting();
    const idle = await this.admission.idle(graceMs);
    if (!idle) {
      for (const session of [...this.#sessions]) {
        session.cancel(new AigesError(Codes.INSTANCE_INACTIVE, 'the loader is shutting down'));
      }
    }
    return idle;
  }

  get openSessions(): number {
    return this.#sessions.size;
  }

  #admit(finish: (code: number) => void) {
    try {
      return this.admission.acquire('session');
    } catch (err) {
      finish(toAigesError(err).aigesCode);
      throw err;
    }
  }

  #instance(service: string): PluginInstance {
    return this.registry.get(service === '' ? (this.registry.soleService() ?? '') : service);
  }

  #checkSize(items: readonly DataItem[]): void {
    let bytes = 0;
    for (const item of items) bytes += item.data.length;
    if (bytes > this.#limits.max_message_bytes) {
      throw new AigesError(
        Codes.PAYLOAD_TOO_LARGE,
        `request payload of ${bytes} bytes exceeds the limit of ${this.#limits.max_message_bytes}`,
      );
    }
  }
}
