/**
 * A live session: the loader's side of a plugin's WrapperSession. Adapters drive it with
 * `write`/`end` from the client's stream and iterate `results()` to send responses; whatever
 * ends it (the plugin finishing, an error, idle timeout, deadline, client cancel, drain), the
 * cleanup runs once: plugin destroy, slot release, metrics.
 */
import { AigesError, Codes, toAigesError, wrapPluginError } from '../errors.js';
import { DataStatus, type DataItem, type OutputItem, type SessionResult, type WrapperSession } from '../../plugins/types.js';
import type { PluginInstance } from '../plugin/instance.js';
import { isThenable, type CallScope } from './deadline.js';

export interface SessionHooks {
  idleTimeoutMs: number;
  maxMessageBytes: number;
  /** Called once when the session is over, with the error that ended it (undefined = success). */
  onClose(error: AigesError | undefined): void;
  onFrame(direction: 'in' | 'out'): void;
}

const DESTROY_TIMEOUT_MS = 5_000;

export class Session {
  #inputEnded = false;
  #closed = false;
  #failure: AigesError | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #iterating = false;

  constructor(
    readonly sid: string,
    readonly instance: PluginInstance,
    private readonly plugin: WrapperSession,
    private readonly scope: CallScope,
    private readonly hooks: SessionHooks,
  ) {
    scope.onAbort((reason) => this.#fail(reason));
    this.#touch();
  }

  get service(): string {
    return this.instance.service;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Feeds one client message. Resolves when the plugin has taken it; writes never overlap. */
  write(items: readonly DataItem[]): Promise<void> {
    const next = this.#writing.then(() => this.#write(items));
    this.#writing = next.catch(() => undefined);
    return next;
  }

  async #write(items: readonly DataItem[]): Promise<void> {
    this.#assertOpen();
    if (this.#inputEnded) throw new AigesError(Codes.INVALID_OP, 'session input already ended');
    this.#touch();
    this.hooks.onFrame('in');
    const bytes = items.reduce((n, item) => n + item.data.length, 0);
    if (bytes > this.hooks.maxMessageBytes) {
      throw this.#fail(new AigesError(Codes.PAYLOAD_TOO_LARGE, `session message of ${bytes} bytes exceeds ${this.hooks.maxMessageBytes}`));
    }
    try {
      this.instance.schema.inputItems(items, false);
    } catch (err) {
      throw this.#fail(toAigesError(err));
    }
    try {
      // Called directly; only a promise it returns is raced against the scope (fewer promises
      // per frame: they are the bulk of a session's per-frame cost).
      const pending = this.plugin.write(items);
      if (isThenable(pending)) await this.scope.race(Promise.resolve(pending));
    } catch (err) {
      // NOTE: the plugin may end the session (an END result) while this write is still in its
      // hands: the session is over and fine, so the write is too.
      if (this.#closed && this.#failure === undefined) return;
      throw this.#fail(this.#pluginError(err, Codes.PLUGIN_WRITE, 'session write failed'));
    }
  }

  /** The client has sent all input. */
  async end(): Promise<void> {
    await this.#writing;
    // The plugin may finish (an END result) before the client half-closes: nothing to do then.
    if (this.#closed && this.#failure === undefined) return;
    this.#assertOpen();
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    this.#touch();
    if (this.plugin.end === undefined) return;
    try {
      await this.scope.race(Promise.resolve().then(() => this.plugin.end?.()));
    } catch (err) {
      if (this.#closed && this.#failure === undefined) return;
      throw this.#fail(this.#pluginError(err, Codes.PLUGIN_WRITE, 'session end failed'));
    }
  }

  /** Ends the session from outside (client cancel, drain). */
  cancel(reason: AigesError): void {
    this.#fail(reason);
  }

  /**
   * The session's results, in order; the last has status END. Iterate once. Throws the error
   * that ended the session, if one did. Stopping the iteration early cancels the session.
   */
  async *results(): AsyncGenerator<SessionResult> {
    if (this.#iterating) throw new AigesError(Codes.INTERNAL, 'session results iterated twice');
    this.#iterating = true;
    const iterator = this.plugin.results[Symbol.asyncIterator]();
    try {
      for (;;) {
        this.#assertOpen();
        let next: IteratorResult<readonly OutputItem[]>;
        try {
          next = await this.scope.race(iterator.next());
        } catch (err) {
          throw this.#fail(this.#pluginError(err, Codes.PLUGIN_READ, 'session results failed'));
        }
        if (next.done === true) break;
        this.#touch();
        let items: DataItem[];
        try {
          items = this.instance.schema.outputItems(next.value, DataStatus.CONTINUE);
        } catch (err) {
          throw this.#fail(toAigesError(err));
        }
        const last = items.some((i) => i.status === DataStatus.END || i.status === DataStatus.ONCE);
        this.hooks.onFrame('out');
        yield { items, status: last ? DataStatus.END : DataStatus.CONTINUE };
        if (last) {
          this.#close(undefined);
          return;
        }
      }
      this.#assertOpen();
      this.hooks.onFrame('out');
      yield { items: [], status: DataStatus.END };
      this.#close(undefined);
    } finally {
      if (!this.#closed) this.#fail(new AigesError(Codes.CANCELLED, 'session results abandoned'));
      // Let the plugin's generator clean up; never wait on it (it may be stuck).
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    }
  }

  #pluginError(err: unknown, code: (typeof Codes)[keyof typeof Codes], what: string): AigesError {
    // The scope's own abort reasons (deadline, cancel, idle) pass through unchanged.
    if (this.#failure !== undefined) return this.#failure;
    if (err === this.scope.reason) return toAigesError(err);
    return wrapPluginError(err, code, what);
  }

  #assertOpen(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) throw new AigesError(Codes.INVALID_OP, 'session is closed');
  }

  #touch(): void {
    if (this.#closed) return;
    // NOTE: one timer per session, re-armed on every frame (refresh() allocates nothing).
    if (this.#idleTimer !== undefined) {
      this.#idleTimer.refresh();
      return;
    }
    const ms = this.hooks.idleTimeoutMs;
    this.#idleTimer = setTimeout(() => this.#fail(new AigesError(Codes.SESSION_TIMEOUT, `session idle for more than ${ms} ms`)), ms);
  }

  /** Records the first failure, aborts the scope, closes; returns the failure that stands. */
  #fail(error: AigesError): AigesError {
    if (this.#closed) return this.#failure ?? error;
    this.#failure = error;
    this.scope.abort(error);
    this.#close(error);
    return error;
  }

  #close(error: AigesError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.scope.dispose();
    if (error === undefined) this.scope.abort(new AigesError(Codes.CANCELLED, 'session closed'));
    const finish = () => this.hooks.onClose(error);
    const failed = (err: unknown) => {
      const wrapped = wrapPluginError(err, Codes.PLUGIN_DESTROY, 'session destroy failed');
      this.instance.log.error({ err: wrapped, sid: this.sid }, wrapped.message);
    };
    // The slot covers the plugin's session until destroy is done; a synchronous destroy frees it
    // at once, so a client that saw END can open its next session straight away.
    let pending: unknown;
    try {
      pending = this.plugin.destroy?.();
    } catch (err) {
      failed(err);
    }
    if (typeof (pending as PromiseLike<unknown> | undefined)?.then !== 'function') {
      finish();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    Promise.race([
      pending,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${DESTROY_TIMEOUT_MS} ms`)), DESTROY_TIMEOUT_MS);
      }),
    ])
      .catch(failed)
      .finally(() => {
        clearTimeout(timer);
        finish();
      });
  }
}
