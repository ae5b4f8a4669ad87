/**
 * Session mode over HTTP, as AIGes does it: one data-plane Session spans several requests that
 * share a sid (header.status 0 opens, 1 continues, 2 ends). An HttpSession collects the
 * session's results in the background, so each request can answer with what the plugin has
 * produced since the client last asked.
 *
 * Bounds: a live session holds an admission slot (openSession refuses past capacity), so the
 * table holds at most `capacity` live entries. An entry whose session ended before the client
 * collected its last results is kept for `retainMs`, and at most `capacity` such entries are
 * kept (oldest dropped first); the data plane's idle timeout ends sessions a client abandons.
 */
import { AigesError, Codes, toAigesError } from '../errors.js';
import type { Session } from '../dataplane/session.js';
import type { DataItem } from '../../plugins/types.js';

export class HttpSession {
  #pending: DataItem[] = [];
  #done = false;
  #error: AigesError | undefined;
  #turn: Promise<unknown> = Promise.resolve();
  /** Items sent per output key so far (the response's `seq`). */
  readonly seq = new Map<string, number>();
  /** Resolves when the session's results are over (ended or failed); never rejects. */
  readonly finished: Promise<void>;

  constructor(readonly session: Session) {
    this.finished = this.#collect();
  }

  get sid(): string {
    return this.session.sid;
  }

  /** True once the session's results are over. */
  get done(): boolean {
    return this.#done;
  }

  async #collect(): Promise<void> {
    try {
      for await (const result of this.session.results()) this.#pending.push(...result.items);
    } catch (err) {
      this.#error = toAigesError(err);
    }
    this.#done = true;
  }

  /** Runs one request's work after the previous request's: requests on one sid never overlap. */
  serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#turn.then(work);
    this.#turn = next.catch(() => undefined);
    return next;
  }

  /** Takes the results gathered since the last take; throws the error that ended the session. */
  take(): { items: DataItem[]; ended: boolean } {
    if (this.#error !== undefined) throw this.#error;
    return { items: this.#pending.splice(0), ended: this.#done };
  }
}

export class HttpSessionTable {
  readonly #entries = new Map<string, HttpSession>();
  readonly #expiry = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly capacity: number,
    private readonly retainMs = 60_000,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  has(sid: string): boolean {
    return this.#entries.has(sid);
  }

  get(sid: string): HttpSession | undefined {
    return this.#entries.get(sid);
  }

  /** Adds a new session; a sid already in the table is refused (10003) and the session cancelled. */
  add(entry: HttpSession): void {
    if (this.#entries.has(entry.sid)) {
      const error = new AigesError(Codes.INVALID_OP, `session "${entry.sid}" is already open`);
      entry.session.cancel(error);
      throw error;
    }
    this.#entries.set(entry.sid, entry);
    void entry.finished.then(() => this.#retire(entry));
  }

  delete(sid: string): void {
    this.#entries.delete(sid);
    clearTimeout(this.#expiry.get(sid));
    this.#expiry.delete(sid);
  }

  /** Cancels every session left and empties the table (server close). */
  closeAll(): void {
    for (const entry of this.#entries.values()) {
      entry.session.cancel(new AigesError(Codes.INSTANCE_INACTIVE, 'the loader is shutting down'));
    }
    for (const sid of [...this.#entries.keys()]) this.delete(sid);
  }

  /** An ended entry waits for its client a while; past the bound the oldest goes. */
  #retire(entry: HttpSession): void {
    if (this.#entries.get(entry.sid) !== entry) return;
    const timer = setTimeout(() => this.delete(entry.sid), this.retainMs);
    timer.unref();
    this.#expiry.set(entry.sid, timer);
    if (this.#expiry.size > this.capacity) {
      const oldest = this.#expiry.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
  }
}
