/**
 * Sessions carried across requests, as AIGes's HTTP JSON protocol does: requests that share a sid
 * drive one session (status 0 opens it, 1 continues, 2 ends it), and each request is answered with
 * the results the plugin produced since the previous one.
 *
 * Owner: with `[auth]` on, a session belongs to the access key that opened it; requests signed
 * with another key are refused (10207) and leave it as it was.
 *
 * Deadlines: the opening request's deadline is the session's; a later request's bounds that request
 * only (passing it ends the session with 10102). A client that goes away during a request cancels
 * the session. Requests on one sid never overlap: each waits for the previous one's turn.
 *
 * Bounds: a live session holds an admission slot, so the table holds at most `capacity` live
 * entries. An entry whose session ended before the client collected its last results is kept for
 * `retainMs`, and at most `capacity` such entries are kept (oldest dropped first); the idle timeout
 * ends sessions a client abandons.
 */
import { AigesError, Codes, toAigesError, named } from '../errors.js';
import { DataStatus, type DataItem } from '../../plugins/types.js';
import type { Cancellable, CallOptions } from './call.js';
import type { DeadlineQueue, Timed } from './deadline-queue.js';
import { ResultBuffer } from './results.js';
import type { Session } from './session.js';
import type { SessionMessage } from './session-stream.js';

/** One request of a session carried across requests. */
export interface SessionStep extends SessionMessage {
  /** The session's id; '' on an opening request, where the loader makes one (a sid given there is refused). */
  sid: string;
  /** BEGIN opens, CONTINUE continues, END ends the session. */
  status: DataStatus;
  /**
   * At most one result item per output key in an answer (a wire with one entry per key, as AIGes's
   * JSON): later items of a key wait for the next request, and the answer is not the last
   * (`ended` false) while any wait.
   */
  onePerKey?: boolean;
}

export interface StepAnswer {
  sid: string;
  /** Every result item since the previous request. */
  items: DataItem[];
  /** The session is over: these are its last results. */
  ended: boolean;
  /** Per output key, the items the session delivered so far, these included. */
  totals: ReadonlyMap<string, number>;
}

/** What the steps need of the data plane. */
export interface StepPlane {
  readonly deadlines: DeadlineQueue;
  openSession(open: Omit<SessionMessage, 'items'>, options: CallOptions): Promise<Session>;
  /** The most sessions the loader admits (bounds the ended entries kept). */
  capacity(): number;
}

class Entry {
  readonly results = new ResultBuffer();
  readonly totals = new Map<string, number>();
  /** Result items taken from the session but not answered yet (onePerKey). */
  held: DataItem[] = [];
  #turn: Promise<unknown> = Promise.resolve();

  constructor(
    readonly session: Session,
    /** The access key that opened the session (undefined: the loader does not authenticate). */
    readonly owner: string | undefined,
  ) {
    this.results.onResume(() => session.resume());
    session.start(this.results);
  }

  get sid(): string {
    return this.session.sid;
  }

  /** Runs one request's work after the previous request's. */
  serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#turn.then(work);
    this.#turn = next.catch(() => undefined);
    return next;
  }
}

/** One request's bounds: its deadline (on the shared queue) and its client's cancel. */
class StepScope implements Timed, Cancellable {
  heapIndex = -1;
  #over = false;

  constructor(
    readonly deadline: number,
    private readonly session: Session,
  ) {}

  expire(): void {
    if (!this.#over)
      this.session.abort(new AigesError(Codes.EXEC_TIMEOUT, `request deadline passed; session ${named(this.session.sid)} ended`));
  }

  cancel(): void {
    if (!this.#over) this.session.cancel();
  }

  over(): void {
    this.#over = true;
  }
}

export class SessionSteps {
  readonly #entries = new Map<string, Entry>();
  readonly #expiry = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly plane: StepPlane,
    private readonly retainMs = 60_000,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  async step(request: SessionStep, options: CallOptions = {}): Promise<StepAnswer> {
    let entry: Entry | undefined;
    if (request.status === DataStatus.BEGIN) {
      // The loader makes the sid (random, unguessable): one a client chose could be known to others.
      if (request.sid !== '' || Object.hasOwn(request.params, 'sid')) {
        throw new AigesError(
          Codes.INVALID_DATA,
          'a session is opened without a sid (header.sid, param sid): the loader makes one and answers with it; send it with status 1 and 2',
        );
      }
      const { service, params, headers } = request;
      const session = await this.plane.openSession({ service, params, headers }, { deadline: options.deadline, caller: options.caller });
      if (this.#entries.has(session.sid)) {
        const error = withSid(new AigesError(Codes.INVALID_OP, `session ${named(session.sid)} is already open`), session.sid);
        session.abort(error);
        throw error;
      }
      entry = new Entry(session, options.caller?.accessKey);
      this.#add(entry);
    } else {
      if (request.sid === '') throw new AigesError(Codes.INVALID_OP, 'header.sid is required with header.status 1 and 2');
      entry = this.#entries.get(request.sid);
      if (entry === undefined) throw withSid(new AigesError(Codes.INVALID_OP, `no open session ${named(request.sid)}`), request.sid);
      // A session opened with an access key is that key's: another key may not write, end or read it.
      if (entry.owner !== options.caller?.accessKey) {
        throw withSid(
          new AigesError(Codes.PERMISSION_DENIED, `session ${named(request.sid)} was opened with another access key`),
          request.sid,
        );
      }
      if (entry.session.service !== request.service) {
        throw withSid(
          new AigesError(Codes.INVALID_OP, `session ${named(request.sid)} belongs to service ${named(entry.session.service)}`),
          request.sid,
        );
      }
    }
    const open = entry;
    // The opening request's deadline is the session's; a later request's bounds that request only.
    const deadline = request.status === DataStatus.BEGIN ? undefined : options.deadline;
    return open.serial(() => this.#exchange(open, request, deadline, options));
  }

  /** One request's turn: write, maybe end, answer with the results gathered. */
  async #exchange(entry: Entry, request: SessionStep, deadline: number | undefined, options: CallOptions): Promise<StepAnswer> {
    const { session, results } = entry;
    const scope = new StepScope(deadline ?? Number.POSITIVE_INFINITY, session);
    if (deadline !== undefined) this.plane.deadlines.add(scope);
    options.onCancel?.(scope);
    try {
      // NOTE: input that arrives after the plugin ended the session is ignored: the answer
      // carries the last results and status END, which tells the client the session is over.
      if (request.items.length > 0 && !session.closed) await session.write(request.items);
      let items: DataItem[] = [];
      if (request.status === DataStatus.END || session.closed) {
        await session.end();
        for (;;) {
          const taken = results.take();
          items = items.concat(taken.items);
          if (taken.ended) break;
          await results.changed();
        }
      } else {
        // NOTE: "results so far": results the plugin made while taking this input may still be
        // on their way through promise callbacks (a plugin whose results are an async generator);
        // one turn of the event loop lets them arrive before the answer.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const taken = results.take();
      items = entry.held.concat(items, taken.items);
      entry.held = [];
      if (request.onePerKey === true) [items, entry.held] = onePerKey(items);
      const ended = taken.ended && entry.held.length === 0;
      if (ended) this.#delete(entry.sid);
      for (const item of items) entry.totals.set(item.key, (entry.totals.get(item.key) ?? 0) + 1);
      return { sid: entry.sid, items, ended, totals: entry.totals };
    } catch (err) {
      const error = toAigesError(err);
      session.abort(error);
      this.#delete(entry.sid);
      throw withSid(error, entry.sid);
    } finally {
      scope.over();
      this.plane.deadlines.remove(scope);
    }
  }

  #add(entry: Entry): void {
    this.#entries.set(entry.sid, entry);
    void entry.results.finished.then(() => this.#retire(entry));
  }

  #delete(sid: string): void {
    this.#entries.delete(sid);
    clearTimeout(this.#expiry.get(sid));
    this.#expiry.delete(sid);
  }

  /** An ended entry waits for its client a while; past the bound the oldest goes. */
  #retire(entry: Entry): void {
    if (this.#entries.get(entry.sid) !== entry) return;
    const timer = setTimeout(() => this.#delete(entry.sid), this.retainMs);
    timer.unref();
    this.#expiry.set(entry.sid, timer);
    if (this.#expiry.size > this.plane.capacity()) {
      const oldest = this.#expiry.keys().next().value;
      if (oldest !== undefined) this.#delete(oldest);
    }
  }
}

/** Splits items in order into the first of each key and the rest. */
function onePerKey(items: DataItem[]): [DataItem[], DataItem[]] {
  const answer: DataItem[] = [];
  const rest: DataItem[] = [];
  const keys = new Set<string>();
  for (const item of items) {
    // Once a key waits, later items of other keys may go; later items of that key keep their order.
    if (keys.has(item.key)) rest.push(item);
    else {
      keys.add(item.key);
      answer.push(item);
    }
  }
  return [answer, rest];
}

function withSid(error: AigesError, sid: string): AigesError {
  error.sid ??= sid;
  return error;
}
