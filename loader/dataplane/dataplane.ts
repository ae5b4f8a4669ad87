/**
 * The data plane: the only place requests are handled. Protocol adapters convert wire types to
 * domain types and call one of:
 * - `infer` (once mode), with an `encode` that turns the output into the adapter's answer;
 * - `sessionStream` (a session driven by one stream of messages: gRPC);
 * - `sessionStep` (a session carried across requests that share a sid: AIGes's HTTP JSON);
 * - `streamCalls` (once calls and keyed sessions multiplexed on one stream: V2 gRPC ModelStreamInfer);
 * - `openSession` (the session itself, for in-process callers: the test harness, `aiges check`).
 * Every feature — validation, admission, deadlines, cancellation, metrics, logging, output release —
 * lives here and in the call objects it makes (call.ts), so every protocol has it.
 */
import { randomUUID } from 'node:crypto';
import { AigesError, Codes, toAigesError, named } from '../errors.js';
import type { Logger } from '../log.js';
import type { LoaderMetrics, ServiceStats } from '../metrics.js';
import type { PluginInstance } from '../plugin/instance.js';
import type { PluginRegistry } from '../plugin/registry.js';
import type { JsonSchema } from '../plugin/schema.js';
import type { DataItem, InferRequest, ItemSpec, Params, RawRequest, Wrapper } from '../../plugins/types.js';
import { Admission } from './admission.js';
import { Batcher } from './batcher.js';
import type { Call, Caller, CallMode, CallOptions, CallTracker } from './call.js';
import { DeadlineQueue } from './deadline-queue.js';
import { type Encode, OnceCall } from './once-call.js';
import { Pipes, pipelineDepth } from './pipe.js';
import type { SessionSink } from './results.js';
import { Session } from './session.js';
import { type SessionStep, SessionSteps, type StepAnswer } from './session-steps.js';
import { type SessionMessage, SessionStream } from './session-stream.js';
import { StreamCalls } from './stream-calls.js';

export type { Caller, CallOptions, Cancellable } from './call.js';

export interface DataplaneLimits {
  capacity: number;
  default_deadline_ms: number;
  session_deadline_ms: number;
  /** Also bounds the wait for a session stream's open message. */
  session_idle_timeout_ms: number;
  max_message_bytes: number;
  hang_grace_ms: number;
}

export interface InferOptions<T> extends CallOptions {
  /**
   * Turns the checked output into what the adapter sends, synchronously; afterwards nothing reads
   * the output items again, so the plugin kind may take their memory back. Without it the call
   * resolves with the items themselves (the caller keeps them).
   */
  encode?: Encode<T> | undefined;
  /**
   * The call whose plugin makes this one (`ctx.infer`, pipe.ts): no admission slot, no caller
   * check, no refusal while draining; ended when `parent` ends.
   */
  parent?: Call | undefined;
}

/** The first message of a session: which service, with which params. */
export type SessionOpen = Omit<RawRequest, 'items'>;

export interface ServiceMetadata {
  service: string;
  version: string;
  /** The version the plugin declares, if it declares one (`version` shows '0.0.0' otherwise). */
  declaredVersion: string | undefined;
  /** The versions the wrapper serves, when it serves several (WrapperDefinition.versions). */
  versions: readonly string[] | undefined;
  /**
   * The schemas of versions whose tensors differ from the latest's (`inputs`, `outputs`), by
   * version (WrapperDefinition.versionSchemas); the V2 adapters' `checkVersion` picks them.
   */
  versionSchemas: Wrapper['versionSchemas'];
  /** Whether the service's live instance set can serve now (the loader's own readiness aside). */
  ready: boolean;
  description: string;
  inputs: Readonly<Record<string, ItemSpec>>;
  outputs: Readonly<Record<string, ItemSpec>>;
  paramsSchema: JsonSchema;
  supportsOnce: boolean;
  supportsSession: boolean;
  capacity: number;
  /** Dynamic batching's max batch size (rows); 0 when the service does not batch. */
  maxBatchSize: number;
}

/** The service label of calls refused before their service was found. */
const UNKNOWN_SERVICE_LABEL = '_unknown';

export class Dataplane {
  readonly admission: Admission;
  /** Where plugins' `ctx.infer` calls go; `pipes.remote` reaches other loaders. */
  readonly pipes: Pipes;
  readonly #tracker: CallTracker;
  readonly #deadlines = new DeadlineQueue();
  readonly #steps: SessionSteps;
  /** The batcher of each instance set that batches once calls (made on its first call). */
  readonly #batchers = new WeakMap<PluginInstance, Batcher>();
  #limits: Readonly<DataplaneLimits>;

  constructor(
    private readonly registry: PluginRegistry,
    limits: Readonly<DataplaneLimits>,
    private readonly metrics: LoaderMetrics,
    log: Logger,
    options: { exposePluginErrors?: boolean } = {},
  ) {
    this.#limits = { ...limits };
    this.admission = new Admission(limits.capacity);
    metrics.capacity.set(limits.capacity);
    this.pipes = new Pipes({
      infer: (raw, o) => this.infer(raw, o),
      inputType: (service, key) => {
        try {
          return this.registry.get(service).schema.inputType(key);
        } catch {
          return undefined; // no such service: infer says so
        }
      },
    });
    this.#tracker = {
      admission: this.admission,
      deadlines: this.#deadlines,
      metrics,
      log,
      live: new Set<Call>(),
      hangGraceMs: limits.hang_grace_ms,
      exposePluginErrors: options.exposePluginErrors ?? true,
      pipes: this.pipes,
    };
    const plane = {
      deadlines: this.#deadlines,
      openSession: (open: SessionOpen, options: CallOptions) => this.openSession(open, options),
      capacity: () => this.admission.capacity,
    };
    this.#steps = new SessionSteps(plane);
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
    this.#tracker.hangGraceMs = limits.hang_grace_ms;
    this.admission.setCapacity(limits.capacity);
    this.metrics.capacity.set(limits.capacity);
  }

  /**
   * Once mode: validates, admits, runs the plugin under the deadline; resolves with the encoded
   * output (or the items, without `encode`). Rejects (never throws) with an AigesError carrying
   * the request's sid.
   */
  infer<T = DataItem[]>(raw: RawRequest, options: InferOptions<T> = {}): Promise<T> {
    const started = performance.now();
    let label = UNKNOWN_SERVICE_LABEL;
    let sid: string | undefined;
    let call: OnceCall<T>;
    try {
      // NOTE: draining first: a loader on its way out answers 10101 (retry elsewhere) for every
      // call, even one that arrives after its plugins are unloaded (a balancer's Relay stream
      // outlives the drain by a moment).
      const parent = options.parent;
      if (parent === undefined) this.admission.checkAccepting();
      const instance = this.#instance(raw.service, parent === undefined ? options.caller : undefined);
      label = instance.service;
      if (instance.wrapper.exec === undefined) {
        throw new AigesError(Codes.INVALID_SESSION_MODE, `service ${named(instance.service)} has no once mode; open a session`);
      }
      this.#checkSize(raw.items);
      sid = raw.params['sid'] || randomUUID();
      const schema = instance.schemaOf(raw.version);
      const params = schema.params(raw.params, sid);
      schema.inputItems(raw.items, true);
      const timeoutMs = options.deadline === undefined ? this.#limits.default_deadline_ms : options.deadline - Date.now();
      const deadline = options.deadline ?? Date.now() + timeoutMs;
      const request: InferRequest = { service: label, params, headers: raw.headers, items: raw.items };
      if (raw.version !== undefined) request.version = raw.version;
      const inherited = parent === undefined ? pipelineDepth(raw.headers) : undefined;
      call = new OnceCall(
        this.#tracker,
        instance,
        request,
        sid,
        deadline,
        timeoutMs,
        options.encode,
        parent,
        inherited,
        this.#batcher(instance),
      );
    } catch (err) {
      return Promise.reject(this.#refused(label, 'once', started, err, sid));
    }
    options.onCancel?.(call);
    return call.run();
  }

  /**
   * Session mode: validates the open message, admits the session (it holds a slot until it ends)
   * and creates the plugin's session. The caller starts its results (`start`) and drives it to its
   * end, or cancels it.
   */
  openSession(open: SessionOpen, options: CallOptions = {}): Promise<Session> {
    const started = performance.now();
    let label = UNKNOWN_SERVICE_LABEL;
    let sid: string | undefined;
    let session: Session;
    let params: Params;
    try {
      this.admission.checkAccepting();
      const instance = this.#instance(open.service, options.caller);
      label = instance.service;
      if (instance.wrapper.session === undefined) {
        throw new AigesError(Codes.INVALID_SESSION_MODE, `service ${named(instance.service)} has no session mode; use once calls`);
      }
      sid = open.params['sid'] || randomUUID();
      params = instance.schema.params(open.params, sid);
      const limits = this.#limits;
      const timeoutMs = options.deadline === undefined ? limits.session_deadline_ms : options.deadline - Date.now();
      const deadline = options.deadline ?? Date.now() + timeoutMs;
      session = new Session(this.#tracker, instance, sid, deadline, timeoutMs, {
        idleTimeoutMs: limits.session_idle_timeout_ms,
        maxMessageBytes: limits.max_message_bytes,
      });
    } catch (err) {
      return Promise.reject(this.#refused(label, 'session', started, err, sid));
    }
    options.onCancel?.(session);
    return session.open(params);
  }

  /**
   * A session driven by one stream of messages (see session-stream.ts): the adapter pushes each
   * client message, ends the input at the client's half-close and cancels when the client goes
   * away; results and the end go to `sink`.
   */
  sessionStream(sink: SessionSink, options: CallOptions = {}): SessionStream {
    const plane = { deadlines: this.#deadlines, openSession: (open: SessionOpen, o: CallOptions) => this.openSession(open, o) };
    return new SessionStream(plane, sink, options, this.#limits.session_idle_timeout_ms);
  }

  /** Once calls and keyed sessions on one stream (see stream-calls.ts). */
  streamCalls<S extends SessionSink>(): StreamCalls<S> {
    return new StreamCalls<S>({ sessionStream: (sink, options) => this.sessionStream(sink, options) });
  }

  /** One request of a session carried across requests (see session-steps.ts). */
  sessionStep(step: SessionStep, options: CallOptions = {}): Promise<StepAnswer> {
    return this.#steps.step(step, options);
  }

  /** The schema and modes of `service` (the sole service when none is named). */
  metadata(service?: string, caller?: Caller): ServiceMetadata {
    const instance = this.#instance(service ?? '', caller);
    const w = instance.wrapper;
    return {
      service: w.id,
      version: w.version ?? '0.0.0',
      declaredVersion: w.version,
      versions: w.versions,
      versionSchemas: w.versionSchemas,
      ready: instance.ready,
      description: w.description ?? '',
      inputs: w.schema.input,
      outputs: w.schema.output,
      paramsSchema: instance.schema.paramsSchema,
      supportsOnce: w.exec !== undefined,
      maxBatchSize: instance.batching?.maxBatchSize ?? 0,
      supportsSession: w.session !== undefined,
      capacity: this.#limits.capacity,
    };
  }

  /** The services served, by id: those `caller` may call when there is one. */
  serviceNames(caller?: Caller): string[] {
    const names = this.registry.services().map((instance) => instance.service);
    return caller === undefined ? names : names.filter((name) => caller.mayCall(name));
  }

  /** The call counts of a service (the caller has looked it up: `metadata`). */
  statistics(service: string): ServiceStats {
    return this.metrics.of(service);
  }

  /** Refuses new calls from now on (10101); running ones go on. */
  stopAccepting(): void {
    this.admission.stopAccepting();
  }

  /**
   * Waits up to `graceMs` for admitted calls and sessions to end, then ends what is left with
   * 10101. Resolves true when everything ended within the grace period.
   */
  async drain(graceMs: number): Promise<boolean> {
    this.stopAccepting();
    const idle = await this.admission.idle(graceMs);
    if (!idle) {
      for (const call of [...this.#tracker.live]) {
        call.abort(new AigesError(Codes.INSTANCE_INACTIVE, 'the loader is shutting down'));
      }
    }
    return idle;
  }

  /** Sessions open now. */
  get openSessions(): number {
    return this.admission.sessions;
  }

  /** Counts and returns the error of a call refused before it was admitted. */
  #refused(label: string, mode: CallMode, started: number, err: unknown, sid: string | undefined): AigesError {
    const error = toAigesError(err);
    if (sid !== undefined) error.sid ??= sid;
    this.metrics.of(label).ended(mode, error.aigesCode, (performance.now() - started) / 1000);
    return error;
  }

  /** The instance set serving `service`, once `caller` (when the loader authenticates) may call it. */
  #instance(service: string, caller: Caller | undefined): PluginInstance {
    const name = service === '' ? (this.registry.soleService() ?? '') : service;
    // NOTE: before the lookup: a key learns nothing of services it may not call, not even whether they exist.
    caller?.authorize(name);
    return this.registry.get(name);
  }

  /** The batcher of an instance set, or undefined when it does not batch (batcher.ts). */
  #batcher(instance: PluginInstance): Batcher | undefined {
    const settings = instance.batching;
    if (settings === undefined) return undefined;
    let batcher = this.#batchers.get(instance);
    if (batcher === undefined) {
      batcher = new Batcher(instance, settings, this.#tracker);
      this.#batchers.set(instance, batcher);
    }
    return batcher;
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

export type { SessionMessage, SessionStep, StepAnswer };
