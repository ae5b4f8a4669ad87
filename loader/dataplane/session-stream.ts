/**
 * A session driven by one stream of client messages (a gRPC `Session` call): the first message
 * names the service and params and opens the session; every message's items are written in order;
 * the client's half-close ends the input. Results and the end go to the adapter's sink.
 *
 * Before the open message there is no session and no slot: the wait for it is bounded by the
 * session idle timeout (10019), on the data plane's deadline queue. The adapter pauses its stream
 * while a `push` it got a promise from is pending.
 */
import { AigesError, Codes, toAigesError } from '../errors.js';
import type { DataItem } from '../../plugins/types.js';
import type { Cancellable, CallOptions } from './call.js';
import type { DeadlineQueue, Timed } from './deadline-queue.js';
import type { SessionSink } from './results.js';
import type { Session } from './session.js';

/** One client message of a session stream; service, params and headers count only in the first. */
export interface SessionMessage {
  service: string;
  params: Record<string, string>;
  headers: Record<string, string>;
  items: DataItem[];
}

/** What a stream needs of the data plane. */
export interface StreamPlane {
  readonly deadlines: DeadlineQueue;
  openSession(open: Omit<SessionMessage, 'items'>, options: CallOptions): Promise<Session>;
}

export class SessionStream implements Timed, Cancellable {
  heapIndex = -1;
  /** Until then the open message must arrive. */
  readonly deadline: number;
  readonly #plane: StreamPlane;
  readonly #sink: SessionSink;
  readonly #options: CallOptions;
  readonly #openTimeoutMs: number;
  #opening: Promise<void> | undefined;
  #session: Session | undefined;
  /** What cancels the session while it is being opened. */
  #target: Cancellable | undefined;
  #cancelled = false;
  /** Why the adapter failed the stream while the session was being opened. */
  #failure: AigesError | undefined;
  /** The sink was told the end by the stream itself (the session never started). */
  #closed = false;

  constructor(plane: StreamPlane, sink: SessionSink, options: CallOptions, openTimeoutMs: number) {
    this.#plane = plane;
    this.#sink = sink;
    this.#options = options;
    this.#openTimeoutMs = openTimeoutMs;
    this.deadline = Date.now() + openTimeoutMs;
    plane.deadlines.add(this);
  }

  /** The session, once open. */
  get session(): Session | undefined {
    return this.#session;
  }

  /**
   * One client message. Returns undefined when it was taken at once, else a promise that settles
   * when it was (it may reject; the sink hears what ended the session either way).
   */
  push(message: SessionMessage): Promise<void> | undefined {
    if (this.#closed) return undefined;
    const session = this.#session;
    if (session !== undefined) return session.write(message.items);
    if (this.#opening !== undefined) return this.#opening.then(() => this.push(message));
    this.#plane.deadlines.remove(this);
    const { service, params, headers } = message;
    this.#opening = this.#plane
      .openSession(
        { service, params, headers },
        { deadline: this.#options.deadline, caller: this.#options.caller, onCancel: (call) => (this.#target = call) },
      )
      .then(
        (opened) => {
          this.#session = opened;
          opened.start(this.#sink);
          if (message.items.length > 0) return opened.write(message.items);
          return undefined;
        },
        (err: unknown) => this.#fail(this.#failure ?? toAigesError(err)),
      );
    return this.#opening;
  }

  /** The client half-closed: no more input. */
  end(): void {
    if (this.#closed) return;
    if (this.#opening === undefined) {
      this.#fail(new AigesError(Codes.INVALID_OP, 'session stream ended before its open message'));
      return;
    }
    // Failures reach the sink from the session.
    void this.#opening.then(() => this.#session?.end()).catch(() => undefined);
  }

  /** The client went away. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    if (this.#target !== undefined) this.#target.cancel();
    else this.#fail(new AigesError(Codes.CANCELLED, 'the client cancelled the call'));
  }

  /** The adapter's stream broke (e.g. an undecodable message): ends the session with `error`. */
  fail(error: AigesError): void {
    if (this.#session !== undefined) return this.#session.abort(error);
    if (this.#target === undefined) return this.#fail(error);
    this.#failure = error;
    this.#target.cancel(); // the open fails, and the sink hears `error`
  }

  /** The deadline queue's call: no open message in time. */
  expire(): void {
    this.#fail(new AigesError(Codes.SESSION_TIMEOUT, `no open message within ${this.#openTimeoutMs} ms`));
  }

  /** Ends a stream whose session never started. */
  #fail(error: AigesError): void {
    if (this.#closed || this.#session !== undefined) return;
    this.#closed = true;
    this.#plane.deadlines.remove(this);
    this.#sink.close(error);
  }
}
