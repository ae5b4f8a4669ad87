/**
 * One plugin process, seen from the loader: started (child.ts), handed its channel, log pipe and
 * shared region, asked to load the plugin; then the requests in flight to it, its sessions, the
 * output blocks the loader holds of it, and what happens when it dies — every request still in
 * flight fails with 10109 (a destroy or fini just ends), every session's results fail with 10109.
 * Restarting is the supervisor's (supervisor.ts): a connection lives and dies with its process.
 *
 * stdio of the plugin process: 0 ignored, 1 and 2 forwarded to the loader's log line by line, 3 the
 * channel (a socket pair), 4 the plugin's pino log (logs.ts), 5 the shared region when there is one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type {
  CallContext,
  DataItem,
  InferRequest,
  OutputItem,
  ServiceResponse,
  WrapperConfig,
  WrapperSession,
} from '../../../plugins/types.js';
import { DEFAULT_SPIN_US } from '../../../native/host.js';
import { onContextEnd } from '../../dataplane/context.js';
import { AigesError, Codes } from '../../errors.js';
import { SERVER_V8_FLAGS } from '../../lib/v8-flags.js';
import type { Logger } from '../../log.js';
import type { KindSettings } from '../kinds.js';
import type { PluginLocation } from '../repository.js';
import { Channel } from './channel.js';
import type { Frame } from './frames.js';
import { logOutputLine, readLines, relogLine } from './logs.js';
import {
  decodeError,
  decodeServiceRequest,
  encodeError,
  encodeItems,
  itemBytes,
  Payloads,
  wireOutputItem,
  type PluginDescription,
  type SharedOut,
  type ToChild,
  type ToParent,
  type WireError,
  type WireItem,
} from './messages.js';
import { RemoteSession } from './remote-session.js';
import { ARENA_BYTES, Arena, createRegion } from './shared-region.js';

/** Where and how to start a plugin process. */
export interface ChildSpec {
  location: PluginLocation;
  settings: KindSettings;
  /** The loader's logger: the plugin process's lines go there. */
  log: Logger;
}

/** How a plugin process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What a death cost: once calls and sessions in flight there. */
export interface Lost {
  calls: number;
  sessions: number;
}

/** How long a plugin process whose channel was closed may take to exit before it is killed. */
export const EXIT_GRACE_MS = 2_000;

/**
 * µs the loader polls the channel for a once call's answer, and a plugin process for its next
 * call after answering one (channel.ts `poll`): `[plugin.native] spin_us` for a native library (0:
 * never), the native host's default otherwise. Only while a single call is in flight and the
 * previous one was answered within the budget, as the native host spins.
 */
function spinBudget(spec: ChildSpec): number {
  const section = spec.settings.section as { spin_us?: number } | undefined;
  return spec.location.kind === 'native' && section?.spin_us !== undefined ? section.spin_us : DEFAULT_SPIN_US;
}

const here = fileURLToPath(import.meta.url);
/** The child entry next to this file: child.ts under tsx (tests, development), child.js from dist/. */
function childCommand(): string[] {
  const ext = extname(here);
  const entry = join(dirname(here), `child${ext}`);
  if (ext !== '.ts') return [...SERVER_V8_FLAGS, entry];
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return [...SERVER_V8_FLAGS, '--import', pathToFileURL(tsx).href, entry];
}

/** Requests answered with ok or err alone. */
type Requested =
  | { t: 'init'; config: WrapperConfig }
  | { t: 'fini' }
  | { t: 'write'; s: number }
  | { t: 'end'; s: number }
  | { t: 'destroy'; s: number };

/** A request in flight: how it settles with the answer, or with the process's death. */
interface Pending {
  /** exec counts as a lost call; destroy and fini just end when the process dies. */
  kind: 'load' | 'init' | 'exec' | 'open' | 'write' | 'end' | 'destroy' | 'fini';
  /** Input blocks in the loader's arena, freed with the answer. */
  blocks: readonly number[];
  answered(message: Extract<ToParent, { t: 'ok' | 'err' | 'loaded' }>, payload: Buffer): void;
  died(error: AigesError): void;
}

/** Output blocks of plugin processes the loader holds views of, by region: releaseOutput finds them here. */
const regions = new WeakMap<ArrayBuffer, ChildConnection>();

/**
 * NOTE: an output the data plane never releases (a call abandoned at its deadline, or no transport
 * serializing it) gives its block back when V8 collects the view.
 */
const collected = new FinalizationRegistry<{ connection: WeakRef<ChildConnection>; at: number }>(({ connection, at }) => {
  connection.deref()?.releaseBlock(at);
});

export class ChildConnection {
  readonly pid: number;
  #plugin: PluginDescription | undefined;
  readonly #child: ChildProcess;
  readonly #channel: Channel;
  readonly #spec: ChildSpec;
  readonly #region: ArrayBuffer | undefined;
  /** The loader's arena in the region: inputs. */
  readonly #shared: SharedOut | undefined;
  readonly #requests = new Map<number, Pending>();
  readonly #sessions = new Map<number, RemoteSession>();
  /** The contexts of the calls and sessions in the plugin process, by id: where their ctx.infer is made. */
  readonly #contexts = new Map<number, CallContext<unknown>>();
  /** Output blocks the loader holds a view of (not yet released). */
  readonly #outputs = new Set<number>();
  #releases: number[] = [];
  #nextId = 1;
  readonly #spinUs: number;
  /**
   * µs the plugin process worked on the last once call, as it says (the poll only follows short
   * ones): the time from request to answer would also count a wake-up of a process that did not
   * poll for the call, and one slow call would then end polling on both sides for good.
   */
  #lastWorkUs = 0;
  /** When the last once call was answered (performance.now()), for the next call's `gap`. */
  #answeredAt: number | undefined;
  #loaded!: Promise<PluginDescription>;
  #exit: ExitInfo | undefined;
  readonly #exited: Promise<ExitInfo>;
  readonly #stderrTail: string[] = [];
  readonly #onLevel = (level: string) => this.send({ t: 'level', level });
  #onExit: ((info: ExitInfo, lost: Lost) => void) | undefined;
  #onMeter: ((key: string, count: number) => void) | undefined;

  private constructor(spec: ChildSpec) {
    this.#spec = spec;
    this.#spinUs = spinBudget(spec);
    const region = createRegion();
    const child = spawn(process.execPath, [...childCommand(), String(process.pid)], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', region?.fd ?? 'ignore'],
    });
    // The child has its own copy of the region's fd.
    if (region !== undefined) closeSync(region.fd);
    this.#child = child;
    this.pid = child.pid ?? 0;
    this.#region = region?.memory;
    if (region !== undefined) {
      this.#shared = { arena: new Arena(0, ARENA_BYTES), bytes: new Uint8Array(region.memory) };
      regions.set(region.memory, this);
    }
    this.#exited = new Promise((resolve) => {
      const end = (info: ExitInfo) => {
        if (this.#exit !== undefined) return;
        this.#died(info);
        resolve(info);
      };
      child.once('exit', (code, signal) => end({ code, signal }));
      // A spawn that failed may end without 'exit'.
      child.once('error', () => {
        if (child.pid === undefined) end({ code: null, signal: null });
      });
    });
    const { log } = spec;
    readLines(child.stdio[4] as Readable, (line) => relogLine(log, this.pid, line));
    readLines(child.stdout!, (line) => logOutputLine(log, this.pid, this.#plugin?.id, 'stdout', line));
    readLines(child.stderr!, (line) => {
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > 5) this.#stderrTail.shift();
      logOutputLine(log, this.pid, this.#plugin?.id, 'stderr', line);
    });
    this.#channel = new Channel(
      child.stdio[3] as Socket,
      (frame) => this.#onFrame(frame),
      () => undefined,
    );
    log.on('level-change', this.#onLevel);
  }

  /** Starts a plugin process and has it load the plugin (`loaded` says when it has). */
  static spawn(spec: ChildSpec): ChildConnection {
    const connection = new ChildConnection(spec);
    connection.#loaded = new Promise<PluginDescription>((resolve, reject) => {
      connection.#requests.set(0, {
        kind: 'load',
        blocks: [],
        answered: (message) => {
          if (message.t === 'loaded') resolve(message.plugin);
          else if (message.t === 'err') reject(decodeError(message.err));
        },
        died: reject,
      });
    }).then(
      (plugin) => (connection.#plugin = plugin),
      (err: unknown) => {
        connection.kill();
        const e = err as { aigesCode?: number; message?: string };
        if (e.aigesCode === Codes.PLUGIN_INIT) throw err;
        throw new AigesError(Codes.PLUGIN_INIT, `plugin process could not load ${spec.location.entry}: ${e.message}`, { cause: err });
      },
    );
    connection.send({
      t: 'load',
      location: spec.location,
      settings: spec.settings,
      level: spec.log.level,
      region: connection.#region !== undefined,
      spinUs: connection.#spinUs,
    });
    return connection;
  }

  /** Resolves with what the plugin process loaded; rejects with 10901 (the kind's error, or how the process ended). */
  get loaded(): Promise<PluginDescription> {
    return this.#loaded;
  }

  /** What the plugin process loaded. */
  get plugin(): PluginDescription {
    return this.#plugin!;
  }

  /** How it ended; undefined while it runs. */
  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Resolves when the process has exited. */
  get exited(): Promise<ExitInfo> {
    return this.#exited;
  }

  /** Called once when the process dies, after every request and session in flight was failed. */
  onExit(listener: (info: ExitInfo, lost: Lost) => void): void {
    this.#onExit = listener;
  }

  /** Where the plugin's ctx.meter counts go. */
  onMeter(listener: (key: string, count: number) => void): void {
    this.#onMeter = listener;
  }

  send(message: ToChild, payloads?: readonly Uint8Array[]): void {
    this.#channel.send(message, payloads);
  }

  init(config: WrapperConfig): Promise<void> {
    return this.request({ t: 'init', config });
  }

  fini(): Promise<void> {
    return this.request({ t: 'fini' });
  }

  /** A once call in the plugin process; the end of its call (ctx.signal's firing) is forwarded as a cancel. */
  exec(request: InferRequest, ctx: CallContext<unknown>): Promise<readonly OutputItem[]> {
    const id = this.#nextId++;
    const payloads = new Payloads();
    const blocks: number[] = [];
    const items = encodeItems(request.items, this.#shared, payloads, blocks);
    const { sid, deadline } = ctx;
    let answered = false;
    this.#contexts.set(id, ctx);
    const result = new Promise<readonly OutputItem[]>((resolve, reject) => {
      const unsubscribe = onContextEnd(ctx, (reason) => this.cancel(id, reason));
      this.#requests.set(id, {
        kind: 'exec',
        blocks,
        answered: (message, payload) => {
          answered = true;
          this.#answeredAt = performance.now();
          if (message.t !== 'loaded') this.#lastWorkUs = message.work ?? 0;
          this.#contexts.delete(id);
          unsubscribe();
          if (message.t === 'ok') resolve(this.#execOutputs(message, payload));
          else if (message.t === 'err') reject(decodeError(message.err));
        },
        died: (error) => {
          this.#contexts.delete(id);
          unsubscribe();
          reject(error);
        },
      });
    });
    const alone = this.#requests.size === 1;
    // Tells the plugin process how soon this call followed the last, so that it polls for the
    // next one after answering only while calls follow that closely (child.ts).
    const gap = alone && this.#answeredAt !== undefined ? Math.round((performance.now() - this.#answeredAt) * 1000) : undefined;
    this.send(
      { t: 'exec', id, sid, deadline, service: request.service, params: request.params, headers: request.headers, items, gap },
      payloads.list,
    );
    // The answer of a short call, taken without a turn of the event loop (channel.ts poll).
    if (this.#spinUs > 0 && alone && this.#lastWorkUs <= this.#spinUs) {
      this.#channel.poll(this.#spinUs, () => answered);
    }
    return result;
  }

  /** Opens a session in the plugin process (session.create). */
  open(params: Readonly<Record<string, unknown>>, ctx: CallContext<unknown>): Promise<WrapperSession> {
    const id = this.#nextId++;
    const session = new RemoteSession(this, id, ctx);
    this.#sessions.set(id, session);
    this.#contexts.set(id, ctx);
    this.send({ t: 'open', id, sid: ctx.sid, deadline: ctx.deadline, params });
    return new Promise((resolve, reject) => {
      this.#requests.set(id, {
        kind: 'open',
        blocks: [],
        answered: (message) => {
          if (message.t === 'ok' && message.invalid === undefined) return resolve(session);
          this.forget(id);
          session.lost(new AigesError(Codes.CANCELLED, 'session was not opened'));
          // What the plugin returned was not a session: the data plane's own check fails it.
          if (message.t === 'ok') resolve({} as WrapperSession);
          else if (message.t === 'err') reject(decodeError(message.err));
        },
        died: (error) => reject(error),
      });
    });
  }

  /** A request answered with ok or err (session write, end, destroy; init; fini). */
  request(message: Requested, items?: readonly DataItem[]): Promise<void> {
    const kind = message.t;
    if (this.#exit !== undefined) {
      return kind === 'destroy' || kind === 'fini' ? Promise.resolve() : Promise.reject(this.#crashError());
    }
    const id = this.#nextId++;
    const payloads = new Payloads();
    const blocks: number[] = [];
    const full = { ...message, id } as ToChild & { items?: WireItem[] };
    if (items !== undefined) full.items = encodeItems(items, this.#shared, payloads, blocks);
    this.send(full, payloads.list);
    return new Promise((resolve, reject) => {
      this.#requests.set(id, {
        kind,
        blocks,
        answered: (answer) => {
          if (answer.t === 'ok') resolve();
          else if (answer.t === 'err') reject(decodeError(answer.err));
        },
        died: (error) => (kind === 'destroy' || kind === 'fini' ? resolve() : reject(error)),
      });
    });
  }

  /** The loader's call or session `id` ended: its ctx.signal fires in the plugin process too. */
  cancel(id: number, reason: unknown): void {
    const r = reason as { aigesCode?: number; message?: string } | undefined;
    this.send({ t: 'cancel', id, code: r?.aigesCode ?? Codes.CANCELLED, message: r?.message ?? 'cancelled' });
  }

  /** A session is over here (destroyed, or never opened). */
  forget(id: number): void {
    this.#sessions.delete(id);
    this.#contexts.delete(id);
  }

  /** Kills the process (SIGKILL by default); its death is handled as any other. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#exit === undefined) this.#child.kill(signal);
  }

  /** Ends the channel (the process exits when it sees that); kills it if it has not exited after `graceMs`. */
  async close(graceMs = EXIT_GRACE_MS): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#channel.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /**
   * Gives back an output block a transport has finished with (IsolatedPlugin.releaseOutput); false
   * when `data` is not a view of a plugin process's output block.
   */
  static releaseOutput(data: Buffer): boolean {
    const connection = regions.get(data.buffer as ArrayBuffer);
    return connection?.releaseBlock(data.byteOffset) ?? false;
  }

  /** Queues the release of output block `at` (sent in one message per turn of the event loop). */
  releaseBlock(at: number): boolean {
    if (!this.#outputs.delete(at)) return false;
    if (this.#releases.length === 0) {
      queueMicrotask(() => {
        const at = this.#releases;
        this.#releases = [];
        this.send({ t: 'release', at });
      });
    }
    this.#releases.push(at);
    return true;
  }

  /** Output items of an `ok`: large bytes are views of the region, released after use. */
  #execOutputs(message: Extract<ToParent, { t: 'ok' }>, payload: Buffer): readonly OutputItem[] {
    if (message.invalid !== undefined) return invalidOutput(message.invalid);
    const items = message.items ?? [];
    const out: OutputItem[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const w = items[i]!;
      const data = itemBytes(w, payload, this.#region);
      if (w.shared === 1) {
        this.#outputs.add(w.off);
        collected.register(data, { connection: new WeakRef(this), at: w.off });
      }
      out[i] = wireOutputItem(w, data);
    }
    return out;
  }

  /** A session result batch: copied out of the region and released at once (sessions release nothing later). */
  #sessionBatch(message: Extract<ToParent, { t: 'res' }>, payload: Buffer): readonly OutputItem[] {
    if (message.invalid !== undefined) return invalidOutput(message.invalid);
    return message.items.map((w) => {
      let data = itemBytes(w, payload, this.#region);
      if (w.shared === 1) {
        data = Buffer.from(data);
        this.#outputs.add(w.off);
        this.releaseBlock(w.off);
      }
      return wireOutputItem(w, data);
    });
  }

  #onFrame({ header, payload }: Frame): void {
    const message = header as ToParent;
    switch (message.t) {
      case 'ok':
      case 'err':
        return this.#answer(message.id, message, payload);
      case 'loaded':
        return this.#answer(0, message, payload);
      case 'res':
        return this.#sessions.get(message.s)?.results.push(this.#sessionBatch(message, payload));
      case 'rend':
        return this.#sessions.get(message.s)?.results.end(message.err === undefined ? undefined : decodeError(message.err));
      case 'meter':
        return this.#onMeter?.(message.key, message.count);
      case 'infer':
        return this.#infer(message, payload);
    }
  }

  /**
   * A ctx.infer of call or session `message.call` in the plugin process, made here under it as
   * the plugin's own would be (dataplane/pipe.ts); the answer goes back inline. A call that is
   * over (or an id the process made up) gets 10003, as an exec's ctx.infer after its end does.
   */
  #infer(message: Extract<ToParent, { t: 'infer' }>, payload: Buffer): void {
    const ctx = this.#contexts.get(message.call);
    let answer: Promise<ServiceResponse>;
    if (ctx === undefined) {
      answer = Promise.reject(new AigesError(Codes.INVALID_OP, 'ctx.infer: the calling exec or session is over'));
    } else {
      try {
        answer = ctx.infer(message.service, decodeServiceRequest(message, payload), message.options);
      } catch (err) {
        answer = Promise.reject(err);
      }
    }
    answer.then(
      (a) => {
        const payloads = new Payloads();
        this.send({ t: 'inferred', id: message.id, items: encodeItems(a.items, undefined, payloads, []) }, payloads.list);
      },
      (err: unknown) => this.send({ t: 'inferred', id: message.id, err: encodeError(err) }),
    );
  }

  #answer(id: number, message: Extract<ToParent, { t: 'ok' | 'err' | 'loaded' }>, payload: Buffer): void {
    const pending = this.#requests.get(id);
    if (pending === undefined) return;
    this.#requests.delete(id);
    if (pending.blocks.length > 0) for (const at of pending.blocks) this.#shared!.arena.free(at);
    pending.answered(message, payload);
  }

  #crashError(): AigesError {
    return new AigesError(Codes.CRASH, `plugin process ${this.pid} ${describeExit(this.#exit!)}`);
  }

  #died(info: ExitInfo): void {
    this.#exit = info;
    this.#channel.destroy();
    this.#spec.log.off('level-change', this.#onLevel);
    if (this.#region !== undefined) regions.delete(this.#region);
    this.#outputs.clear();
    this.#contexts.clear();
    const error = this.#crashError();
    if (this.#plugin === undefined) {
      const tail = this.#stderrTail.at(-1);
      if (tail !== undefined) error.message += ` (stderr: ${tail})`;
    }
    const lost: Lost = { calls: 0, sessions: this.#sessions.size };
    const requests = [...this.#requests.values()];
    this.#requests.clear();
    for (const pending of requests) {
      if (pending.kind === 'exec') lost.calls++;
      pending.died(error);
    }
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const session of sessions) session.lost(error);
    this.#onExit?.(info, lost);
  }
}

/** "was killed by SIGSEGV" / "exited with code 3". */
export function describeExit(info: ExitInfo): string {
  return info.signal !== null ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
}

/**
 * An output the plugin process found invalid, as a batch the loader's own check rejects with the
 * same error. NOTE: reading its key throws that error, so the call ends exactly as it would for a
 * plugin in the loader's process (10203 and its message), not as a failure of the plugin (109xx).
 */
function invalidOutput(wire: WireError): OutputItem[] {
  const error = decodeError(wire);
  return [
    {
      get key(): string {
        throw error;
      },
      data: Buffer.alloc(0),
    },
  ];
}
