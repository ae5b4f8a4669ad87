/**
 * Calls multiplexed on one client stream (V2 gRPC ModelStreamInfer): once calls, each on its own,
 * and sessions, each named by a key (V2's `sequence_id`). A message that starts a key opens its
 * session (a session stream of the data plane, session-stream.ts), later ones write to it in
 * order, and one that ends it ends the session's input; its items get the AIGes status of their
 * place: BEGIN at the start, CONTINUE after, END at the end. Several keys may be open at once.
 *
 * A key is free again once its input has ended, though its session may still deliver results.
 * The client's half-close ends the input of every open session; `end()` resolves when every once
 * call has answered and every session has ended. The client going away cancels them all.
 */
import { AigesError, Codes, named } from '../errors.js';
import { DataStatus } from '../../plugins/types.js';
import type { Cancellable, CallOptions } from './call.js';
import type { SessionSink } from './results.js';
import type { SessionMessage, SessionStream } from './session-stream.js';

/** What the calls need of the data plane. */
export interface StreamCallsPlane {
  sessionStream(sink: SessionSink, options: CallOptions): SessionStream;
}

/** Where a message of a keyed session stands in it. */
export interface SessionPlace {
  start: boolean;
  end: boolean;
}

interface Keyed<S> {
  readonly service: string;
  readonly stream: SessionStream;
  readonly sink: S;
}

/** `S`: the adapter's session sinks. */
export class StreamCalls<S extends SessionSink = SessionSink> {
  readonly #plane: StreamCallsPlane;
  /** Keys whose session takes input. */
  readonly #open = new Map<string, Keyed<S>>();
  /** Sessions not ended yet. */
  readonly #sessions = new Set<SessionStream>();
  /** Once calls not answered yet, each with its cancel (once admitted). */
  readonly #once = new Map<Promise<unknown>, Cancellable | undefined>();
  #ended = false;
  #cancelled = false;
  #idle: (() => void) | undefined;

  constructor(plane: StreamCallsPlane) {
    this.#plane = plane;
  }

  /** A once call on the stream: `run` calls the data plane's `infer` with these options (its cancel). */
  infer<T>(run: (options: Pick<CallOptions, 'onCancel'>) => Promise<T>): Promise<T> {
    let target: Cancellable | undefined;
    const answer = run({ onCancel: (call) => (target = call) });
    this.#once.set(answer, target);
    const done = () => {
      this.#once.delete(answer);
      this.#checkIdle();
    };
    answer.then(done, done);
    return answer;
  }

  /**
   * One message of the session named `key`, its items' status set by its place. `sinkFor` is
   * called, once the message is found to fit, with the key's sink (undefined when the message opens
   * the session; it returns the new session's sink then), before the message goes on. Throws (the
   * stream stays open) for a start of a key already open, or a message of a key not open; returns
   * what the session stream's `push` returns.
   */
  session(
    key: string,
    place: SessionPlace,
    message: SessionMessage,
    options: CallOptions,
    sinkFor: (sink: S | undefined) => S,
  ): Promise<void> | undefined {
    let keyed = this.#open.get(key);
    if (place.start) {
      if (keyed !== undefined) throw new AigesError(Codes.INVALID_OP, `session ${named(key)} is open already`);
      const told = sinkFor(undefined);
      const stream: SessionStream = this.#plane.sessionStream(
        {
          result: (result) => told.result(result),
          close: (error) => {
            this.#sessions.delete(stream);
            if (this.#open.get(key)?.stream === stream) this.#open.delete(key);
            told.close(error);
            this.#checkIdle();
          },
        },
        options,
      );
      keyed = { service: message.service, stream, sink: told };
      this.#open.set(key, keyed);
      this.#sessions.add(stream);
    } else if (keyed === undefined) {
      throw new AigesError(Codes.INVALID_OP, `no session ${named(key)} is open (never started, failed or ended): start it first`);
    } else if (message.service !== keyed.service) {
      throw new AigesError(Codes.INVALID_OP, `session ${named(key)} is a session of ${named(keyed.service)}`);
    } else sinkFor(keyed.sink);
    const status = place.end ? DataStatus.END : place.start ? DataStatus.BEGIN : DataStatus.CONTINUE;
    for (const item of message.items) item.status = status;
    const pending = keyed.stream.push(message);
    if (place.end) {
      this.#open.delete(key);
      keyed.stream.end();
    }
    return pending;
  }

  /** The transport has room again: every session delivers its results again. */
  resume(): void {
    for (const stream of this.#sessions) stream.session?.resume();
  }

  /** The client half-closed: ends every open session's input; resolves when every call has ended. */
  end(): Promise<void> {
    this.#ended = true;
    for (const keyed of this.#open.values()) keyed.stream.end();
    this.#open.clear();
    return new Promise((resolve) => {
      this.#idle = resolve;
      this.#checkIdle();
    });
  }

  /** The client went away: cancels every call. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#open.clear();
    for (const target of this.#once.values()) target?.cancel();
    for (const stream of [...this.#sessions]) stream.cancel();
  }

  #checkIdle(): void {
    if (this.#ended && this.#sessions.size === 0 && this.#once.size === 0) this.#idle?.();
  }
}
