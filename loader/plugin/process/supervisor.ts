/**
 * The supervisor of one plugin instance set under process isolation: the plugin process that
 * serves it now, and what happens when that process dies.
 *
 * - A crash (a signal, abort(), exit) fails the calls and sessions in flight there with 10109
 *   (connection.ts), logs ONE line naming the plugin, the signal or exit code and what was lost,
 *   counts `aiges_plugin_crashes_total`, blocks the set's readiness (`process`: the loader turns not
 *   ready, so balancers route elsewhere) and restarts the process after an exponential backoff
 *   (Backoff: 100 ms doubling to 10 s, back to 100 ms after 10 s without a crash) with the same
 *   [wrapper] config and init timeout. A failed restart is retried the same way.
 * - While no process is ready, calls are refused at once with 10101 (retryable: a balancer tries
 *   another instance), not held.
 * - Hangs: when every exec slot of the set is held by a call abandoned past limits.hang_grace_ms
 *   (instance.stuck), the process is killed (SIGKILL) and restarted like a crashed one; its stuck
 *   calls settle with 10109 and give their slots back.
 * - `stop` (fini, at shutdown or when a hot config change retires the set) finalises the plugin in
 *   its process, ends the process, and restarts nothing any more.
 */
import type { CallContext, InferRequest, OutputItem, Params, WrapperConfig, WrapperSession } from '../../../plugins/types.js';
import { AigesError, Codes } from '../../errors.js';
import { withTimeout } from '../../lib/timeout.js';
import type { Logger } from '../../log.js';
import type { PluginInstance } from '../instance.js';
import { Backoff } from './backoff.js';
import { ChildConnection, type ChildSpec, describeExit, type ExitInfo, type Lost } from './connection.js';

export interface SupervisorOptions {
  spec: ChildSpec;
  config: WrapperConfig;
  initTimeoutMs: number;
  finiTimeoutMs: number;
  /** Counts a crash of the service's plugin process (aiges_plugin_crashes_total). */
  onCrash: (service: string) => void;
  /** The set's ctx.meter: where the plugin's meter counts go. */
  meter: (key: string, count?: number) => void;
}

type State = 'ready' | 'down' | 'stopping';

/** The readiness block of a set whose plugin process is down. */
const BLOCK = 'process';

export class PluginProcess {
  readonly #options: SupervisorOptions;
  readonly #log: Logger;
  readonly service: string;
  #state: State = 'ready';
  #connection: ChildConnection | undefined;
  #instance: PluginInstance | undefined;
  /** Why the set cannot serve while down. */
  #reason = '';
  /** Set when the loader kills the process itself (a hang): the crash line says why. */
  #killedFor: string | undefined;
  readonly #backoff = new Backoff();
  #restartTimer: NodeJS.Timeout | undefined;
  #stableTimer: NodeJS.Timeout | undefined;
  /** A restart under way: its process (killed by `stop`) and its end. */
  #restarting: { connection: ChildConnection; done: Promise<void> } | undefined;

  private constructor(options: SupervisorOptions, connection: ChildConnection) {
    this.#options = options;
    this.#log = options.spec.log;
    this.service = connection.plugin.id;
    this.#adopt(connection);
  }

  /**
   * Inits the plugin in `connection` (a process that loaded it), or in a new process, and
   * supervises it from then on. Rejects, leaving no process behind, when init fails, the process
   * dies, or `signal` aborts (the registry's init timeout).
   */
  static async start(options: SupervisorOptions, connection: ChildConnection | undefined, signal: AbortSignal): Promise<PluginProcess> {
    const child = connection ?? ChildConnection.spawn(options.spec);
    const onAbort = () => child.kill();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw signal.reason;
      await child.loaded;
      await child.init(options.config);
      if (signal.aborted) throw signal.reason;
    } catch (err) {
      child.kill();
      // A process that dies in init failed init (10901), not a call (10109).
      if ((err as { aigesCode?: number }).aigesCode === Codes.CRASH) {
        throw new AigesError(Codes.PLUGIN_INIT, `plugin init failed: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return new PluginProcess(options, child);
  }

  /** The instance set this process serves: its readiness follows the process, its hangs kill it. */
  attach(instance: PluginInstance): void {
    this.#instance = instance;
    instance.watchReadiness(() => this.#checkStuck());
    if (this.#state === 'down') instance.block(BLOCK, this.#reason);
  }

  exec(request: InferRequest, ctx: CallContext<unknown>): Promise<readonly OutputItem[]> {
    const connection = this.#connection;
    if (connection === undefined) throw this.#inactive();
    return connection.exec(request, ctx);
  }

  openSession(params: Params, ctx: CallContext<unknown>): Promise<WrapperSession> {
    const connection = this.#connection;
    if (connection === undefined) throw this.#inactive();
    return connection.open(params, ctx);
  }

  /** Finalises the plugin in its process and ends the process; nothing is restarted after this. */
  async stop(): Promise<void> {
    this.#state = 'stopping';
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#stableTimer);
    const restarting = this.#restarting;
    if (restarting !== undefined) {
      restarting.connection.kill();
      await restarting.done;
    }
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined) return;
    try {
      await withTimeout(
        connection.fini(),
        this.#options.finiTimeoutMs,
        () => new Error(`did not finish within ${this.#options.finiTimeoutMs} ms`),
      );
    } finally {
      await connection.close();
    }
  }

  /** The process serving now (tests, diagnostics). */
  get pid(): number | undefined {
    return this.#connection?.pid;
  }

  /** Whether `stop` began (read after awaits, where a narrowed field would mislead). */
  #stopping(): boolean {
    return this.#state === 'stopping';
  }

  #inactive(): AigesError {
    return new AigesError(Codes.INSTANCE_INACTIVE, `plugin process of ${this.service} is not running: ${this.#reason}`);
  }

  #adopt(connection: ChildConnection): void {
    this.#connection = connection;
    this.#state = 'ready';
    connection.onMeter((key, count) => this.#options.meter(key, count));
    connection.onExit((info, lost) => this.#died(connection, info, lost));
  }

  #checkStuck(): void {
    const instance = this.#instance;
    const connection = this.#connection;
    if (instance === undefined || connection === undefined || this.#killedFor !== undefined) return;
    const slots = instance.execSlots.slots;
    if (instance.stuck > 0 && instance.stuck >= slots) {
      this.#killedFor = `hung: all ${slots} exec slots held by calls abandoned past the hang grace`;
      connection.kill('SIGKILL');
    }
  }

  #died(connection: ChildConnection, info: ExitInfo, lost: Lost): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    clearTimeout(this.#stableTimer);
    const killedFor = this.#killedFor;
    this.#killedFor = undefined;
    if (this.#state === 'stopping') return;
    const delay = this.#backoff.next();
    const what = killedFor ?? describeExit(info);
    this.#log.error(
      {
        service: this.service,
        plugin: this.#options.spec.location.entry,
        plugin_pid: connection.pid,
        signal: info.signal,
        exit_code: info.code,
        ...(killedFor === undefined ? {} : { reason: killedFor }),
        lost_calls: lost.calls,
        lost_sessions: lost.sessions,
        restart_in_ms: delay,
      },
      `plugin process ${what}: ${lost.calls} calls and ${lost.sessions} sessions lost (10109); restarting in ${delay} ms`,
    );
    this.#options.onCrash(this.service);
    this.#down(`plugin process ${what}; restarting in ${delay} ms`, delay);
  }

  #down(reason: string, delay: number): void {
    this.#state = 'down';
    this.#reason = reason;
    this.#instance?.block(BLOCK, `plugin process down: ${reason}`);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      const connection = ChildConnection.spawn(this.#options.spec);
      const restarting = { connection, done: this.#restart(connection) };
      this.#restarting = restarting;
      void restarting.done.finally(() => {
        if (this.#restarting === restarting) this.#restarting = undefined;
      });
    }, delay);
  }

  /** Waits for a new plugin process to load and init the plugin, then serves with it (or tries again later). */
  async #restart(connection: ChildConnection): Promise<void> {
    const { config, initTimeoutMs } = this.#options;
    const started = async () => {
      await connection.loaded;
      if (connection.plugin.id !== this.service) {
        throw new Error(`the plugin now says it serves "${connection.plugin.id}"`);
      }
      await connection.init(config);
    };
    try {
      await withTimeout(started(), initTimeoutMs, () => {
        connection.kill();
        return new Error(`load and init did not finish within ${initTimeoutMs} ms`);
      });
    } catch (err) {
      const died = connection.exit;
      connection.kill();
      if (this.#stopping()) return;
      // A process that died on its own in its restart is one more crash.
      if (died !== undefined) this.#options.onCrash(this.service);
      const delay = this.#backoff.next();
      const message = (err as Error).message;
      this.#log.warn(
        { service: this.service, err, restart_in_ms: delay },
        `plugin process restart failed: ${message}; next try in ${delay} ms`,
      );
      this.#down(`restart failed (${message}); next try in ${delay} ms`, delay);
      return;
    }
    if (this.#stopping()) {
      await connection.close();
      return;
    }
    this.#adopt(connection);
    this.#instance?.unblock(BLOCK);
    this.#log.info({ service: this.service, plugin_pid: connection.pid }, 'plugin process restarted');
    this.#stableTimer = setTimeout(() => this.#backoff.reset(), this.#backoff.stableMs);
    this.#stableTimer.unref();
  }
}
