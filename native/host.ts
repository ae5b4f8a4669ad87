/**
 * The native host: loads AIGes C-ABI wrapper libraries (`.so`) and runs their calls off the JS thread.
 *
 * This is the typed facade over `aiges_host.node` (native/host/, built with cmake-js). Threading, for
 * every method below: wrapper functions never run on the event-loop thread (one exception, for a
 * process that does nothing else: OpenOptions.callerThread). Each library gets its own
 * pool of `threads` native worker threads (not libuv's pool), so at most `threads` wrapper calls run
 * at once across once calls and session operations; further calls wait in FIFO order. Results reach
 * JS through a thread-safe function, so promises settle and `onResult` runs on the JS thread.
 *
 * Memory: input `data` Buffers are copied once, on the worker, right before the wrapper call, into
 * host memory where each input is followed by one zero byte (AIGes wrappers build C strings from the
 * bytes without their length); they stay referenced until the call returns — do not modify them
 * meanwhile. Output bytes are copied once, on a worker, out of wrapper memory into one block per
 * item; the returned Buffers own those blocks (no second copy). Large blocks are recycled after
 * their Buffer is collected (see outputPoolStats).
 *
 * Wrapper failures: an error code returned by a wrapper function, or a C++ exception it throws, is
 * answered at once with a NativeError of that function (aigesCode 109xx, see AIGES_CODE_BY_FN).
 *
 * Latency: an idle worker polls briefly for the next call before it sleeps, and the JS thread waits
 * briefly for a short sync call's result (OpenOptions.spinUs): a call made right after the previous
 * one then needs no thread wake-up, which costs tens of µs on an idle machine.
 *
 * The C-side contract wrapper authors rely on is in native/include/aiges/wrapper.h.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One data item, mirroring AIGes's DataList node. type: 0 text … 4 other; status: 0 begin … 3 once. */
export interface NativeItem {
  key: string;
  data: Buffer;
  type: number;
  status: number;
  desc: Record<string, string>;
}

export interface OpenOptions {
  mode: 'once' | 'session';
  /** once: wrapperExecAsync + callback; session: wrapperCreate gets a callback (no wrapperRead). */
  async: boolean;
  /** Native worker threads: the most wrapper calls running at once (1–1024). */
  threads: number;
  /**
   * Sync once mode with one thread only: `exec` runs wrapperExec on the calling JS thread, before
   * it returns (the promise is settled already), instead of on the worker. For a process whose JS
   * thread serves this library and nothing else (a plugin process, `[plugin] isolation =
   * "process"`): it saves the hand-over to the worker and back on every call, and it blocks that
   * thread for as long as wrapperExec runs. Default false.
   */
  callerThread?: boolean;
  /**
   * Busy-wait budget in µs (0–1000, default {@link DEFAULT_SPIN_US}; 0 turns spinning off). An idle
   * worker polls this long for the next call before it sleeps (one worker at a time), and the JS
   * thread waits this long for a sync once call's result before returning to the event loop — only
   * when no other call of the library is in flight and the previous one took no longer than this.
   * Saves the two thread wake-ups of a call made right after the previous one, at the price of up
   * to this much CPU per call on the worker and, for short calls, on the JS thread.
   */
  spinUs?: number;
  /**
   * Sessions, AIGes's `[aiges] realTimeRlt` (default true). Sync mode: true reads once after each
   * intermediate write, as AIGes does; false reads only after the last write (AIGes's non-real-time
   * services: the results come together at the end). No effect on async sessions.
   */
  realTimeRlt?: boolean;
  /**
   * Sessions: how long the host waits for the final result (status END/ONCE) after the last input
   * or the last new result (1–3,600,000 ms, default {@link DEFAULT_FINAL_READ_WAIT_MS}, AIGes's
   * 100 reads × 50 ms). Past it the session ends with a NativeError: fn 'wrapperRead' (10908) in
   * sync mode, 'wrapperCallback' (10910) in async mode. Time the client holds results back
   * (onResult returning false) does not count.
   */
  finalReadWaitMs?: number;
  /**
   * Sync sessions: the longest pause between two reads while waiting for the final result (1–1000
   * ms, default {@link DEFAULT_READ_INTERVAL_MS}). Reads back off from an immediate re-read through
   * 1, 2, 4 … ms up to this; AIGes reads every 50 ms.
   */
  readIntervalMs?: number;
  /**
   * Receives the wrapper's wrapperMeterCustom events (when it exports wrapperSetCtrl), on the JS
   * thread. Exceptions it throws are reported as uncaught exceptions.
   */
  onMeter?: (usrTag: string, key: string, count: number) => void;
}

/** The host's default `spinUs` (as the addon applies it when the option is absent). */
export const DEFAULT_SPIN_US = 50;
/** The host's default `finalReadWaitMs`. */
export const DEFAULT_FINAL_READ_WAIT_MS = 5000;
/** The host's default `readIntervalMs`. */
export const DEFAULT_READ_INTERVAL_MS = 20;
/** Results of one session on their way to onResult, at most, before the host holds the wrapper back. */
export const MAX_QUEUED_RESULTS = 8;

export interface NativeStats {
  /** Wrapper calls executing now (never more than `threads`). */
  running: number;
  /** The most wrapper calls seen executing at once. */
  maxRunning: number;
  /** Sessions created and not yet destroyed. */
  liveSessions: number;
  /** Async exec tags still waiting for their final callback (including abandoned ones). */
  pendingTags: number;
  /** Sync exec results the JS thread took with no event-loop turn: while it waited for them (`spinUs`), or every one with `callerThread`. */
  inlineResults: number;
}

/**
 * Receives a session's results: (items, null) per result, (null, null) after the last, (null, err) on
 * failure. Returning `false` from a (items, null) call asks the host to hold the session back until
 * {@link NativeSession.resume}; any other return value (undefined included) lets it go on.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: listeners that return nothing (void) must still fit
export type SessionListener = (items: NativeItem[] | null, err: NativeError | null) => boolean | void;

export interface NativeLibrary {
  readonly path: string;
  /** wrapperVersion(), when exported. */
  readonly version: string | undefined;
  /** The AIGes functions the library exports. */
  readonly symbols: readonly string[];
  /** The optional `aigesAbiVersion` export (int variable or int function), when present. */
  readonly abiVersion: number | undefined;

  /** wrapperSetCtrl (if onMeter) then wrapperInit(config), once, on a worker. Rejects with NativeError (fn 'wrapperInit'). */
  init(config: Record<string, string>): Promise<void>;
  /**
   * Refuses new calls at once, waits for the wrapper calls already running to return, then runs
   * wrapperFini (if exported) on a worker and frees async exec tags that never got their callback
   * (their promises reject with reason 'abandoned'). Refused while sessions are open. Resolves at
   * once, without calling wrapperFini, when init never succeeded or fini already ran.
   */
  fini(): Promise<void>;
  /**
   * Once mode. Sync: wrapperExec, copy, wrapperExecFree; a running wrapperExec cannot be
   * interrupted, so past the caller's deadline it still holds its worker until it returns.
   * Async: wrapperExecAsync with `timeout` = timeoutMs, resolved by the callback delivering
   * DataEnd/DataOnce (or rejected by one with ret != 0, fn 'wrapperCallback'). If the wrapper never
   * calls back the promise stays pending: race it against your deadline. Its tag stays registered
   * (stats().pendingTags) until a late callback or fini/close, and it stops keeping the process
   * alive once timeoutMs has passed.
   * `params` should hold `sid` (= usrTag); it is added when missing.
   */
  exec(usrTag: string, params: Record<string, string>, items: NativeItem[], timeoutMs: number): Promise<NativeItem[]>;
  /**
   * Session mode: wrapperCreate on a worker. Calls on one session never overlap and run in order.
   * `onResult` runs on the JS thread; results come in the wrapper's order, and a result with status
   * END/ONCE (3) is the last: onResult(null, null) follows it, and nothing after it is delivered.
   *
   * Reading is AIGes's. A write is the last input when every key written so far has status END (2)
   * or ONCE (3). Sync mode: after an intermediate write one wrapperRead (none when `realTimeRlt` is
   * false); after the last write, reads with back-off until the final result — a read repeating the
   * previous one's content is not a new result. Async mode: each callback is one result. Either
   * way, when the final result has not come `finalReadWaitMs` after the last input or new result,
   * onResult(null, err) ends the session (sync: fn 'wrapperRead' 10908; async: 'wrapperCallback' 10910).
   *
   * Flow control: at most {@link MAX_QUEUED_RESULTS} results are on their way to onResult; and when
   * onResult returns false, the host holds the session back until `resume()`: it makes no further
   * wrapperWrite or wrapperRead (a write() meanwhile stays pending, so the writer is held back
   * too), and a callback of the wrapper blocks its thread. Results already on their way are still
   * delivered (each may return false again). destroy() ends the hold. Nothing waiting for a slow
   * client grows without bound, provided onResult returns false while the consumer is behind.
   * `params` should hold `sid` (= usrTag); it is added when missing.
   */
  createSession(usrTag: string, params: Record<string, string>, onResult: SessionListener): Promise<NativeSession>;
  stats(): NativeStats;
  /**
   * Frees pending async tags (rejecting their promises as 'abandoned'), stops the worker threads and
   * dlcloses the library. Throws while calls run or sessions are open, or after a successful init
   * without fini. Idempotent.
   */
  close(): void;
}

export interface NativeSession {
  /**
   * wrapperWrite (then reads, in sync mode). Resolves once the frame was written and the results so
   * far posted to onResult; waits first while the session is held back (see createSession).
   */
  write(items: NativeItem[]): Promise<void>;
  /** After onResult returned false: the client takes results again. Harmless at any other time. */
  resume(): void;
  /**
   * wrapperDestroy, exactly once, after every earlier write. Ends any hold at once: writes still
   * pending are made, but nothing more is read, and results the wrapper calls back are dropped.
   */
  destroy(): Promise<void>;
}

export type NativeErrorReason = 'plugin' | 'callback' | 'invalid-output' | 'abandoned' | 'load' | 'state';

/** AIGes code per failing function (the same numbers as loader/errors.ts `Codes`). */
const AIGES_CODE_BY_FN: Readonly<Record<string, number>> = {
  dlopen: 10901,
  wrapperSetCtrl: 10901,
  wrapperInit: 10901,
  wrapperFini: 10902,
  wrapperCreate: 10905,
  wrapperDestroy: 10906,
  wrapperWrite: 10907,
  wrapperRead: 10908,
  wrapperExec: 10909,
  wrapperExecFree: 10909,
  wrapperExecAsync: 10909,
  wrapperCallback: 10910,
};
/** wrapperExecAsync's `timeout` is a C int. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const INVALID_OP = 10003;
const EXEC_TIMEOUT = 10102;
const CRASH = 10109;

/** Every failure of the native host. Recognise it by `aigesCode` (or `name`), not instanceof. */
export class NativeError extends Error {
  /** The wrapper's own error code (0 when the failure is not a wrapper return code). */
  readonly pluginCode: number;
  /** The wrapper function (or host step) that failed, e.g. 'wrapperExec', 'wrapperCallback', 'dlopen'. */
  readonly fn: string;
  readonly reason: NativeErrorReason;
  /** The AIGes code for the client: 109xx by function, 10109 for broken output, 10003 for misuse. */
  readonly aigesCode: number;

  constructor(message: string, pluginCode: number, fn: string, reason: NativeErrorReason) {
    super(message);
    this.name = 'NativeError';
    this.pluginCode = pluginCode;
    this.fn = fn;
    this.reason = reason;
    this.aigesCode =
      reason === 'state'
        ? INVALID_OP
        : reason === 'invalid-output'
          ? CRASH
          : reason === 'abandoned'
            ? EXEC_TIMEOUT
            : (AIGES_CODE_BY_FN[fn] ?? CRASH);
  }
}

/** The process-wide recycler of large output blocks (native/host/output_blocks.h). */
export interface OutputPoolStats {
  /** Pooled blocks owned by Buffers (reachable or not yet collected) or being filled. */
  liveBlocks: number;
  /** Freed blocks kept for the next output of their size class. */
  idleBlocks: number;
  idleBytes: number;
  /** Outputs written into a recycled block since the process started. */
  reused: number;
  /** Outputs at least this large are pooled. */
  pooledMinBytes: number;
  /** Idle blocks beyond this many bytes are returned to the system. */
  maxIdleBytes: number;
}

interface Binding {
  configure(classes: { NativeError: typeof NativeError }): void;
  sharedRegionCreate(bytes: number): SharedRegion;
  sharedRegionMap(fd: number, bytes: number): ArrayBuffer;
  setParentDeathSignal(parentPid: number): boolean;
  spinRead(fd: number, maxUs: number): Buffer | null;
  sendNow(fd: number, bytes: Uint8Array): number;
  akskHmacPrepare(key: Uint8Array): Buffer;
  akskHmacInto(prepared: Buffer, message: string, out: Uint8Array): void;
  sharedRegionOutputs(memory: ArrayBuffer, at: number, bytes: number, minBytes: number): void;
  sharedRegionAlloc(bytes: number): number;
  sharedRegionFree(at: number): boolean;
  sharedRegionOffset(view: Uint8Array): number;
  outputPoolStats(): OutputPoolStats;
  releaseOutput(data: Uint8Array): boolean;
  openLibrary(path: string, options: OpenOptions): Promise<NativeHandle>;
}
interface NativeHandle {
  readonly path: string;
  readonly version: string | undefined;
  readonly symbols: readonly string[];
  readonly abiVersion: number | undefined;
  init(config: Record<string, string>): Promise<void>;
  fini(): Promise<void>;
  exec(usrTag: string, params: Record<string, string>, items: NativeItem[], timeoutMs: number): Promise<NativeItem[]>;
  createSession(usrTag: string, params: Record<string, string>, onResult: SessionListener): Promise<number>;
  write(session: number, items: NativeItem[]): Promise<void>;
  resume(session: number): void;
  destroy(session: number): Promise<void>;
  stats(): NativeStats;
  close(): void;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Where the addon is looked for: $AIGES_NATIVE_HOST, then the build folder from source or from dist/. */
export function nativeHostCandidates(): string[] {
  const fromEnv = process.env['AIGES_NATIVE_HOST'];
  return [
    ...(fromEnv ? [fromEnv] : []),
    join(here, 'build', 'Release', 'aiges_host.node'),
    join(here, '..', '..', 'native', 'build', 'Release', 'aiges_host.node'),
  ];
}

let binding: Binding | undefined;
function loadBinding(): Binding {
  if (binding) return binding;
  const path = nativeHostCandidates().find((p) => existsSync(p));
  if (!path) {
    throw new Error(
      `native host addon not built (looked in ${nativeHostCandidates().join(', ')}); ` +
        'run: npx cmake-js build --directory native --out native/build',
    );
  }
  const b = createRequire(import.meta.url)(path) as Binding;
  b.configure({ NativeError });
  binding = b;
  return b;
}

function withSid(params: Record<string, string>, usrTag: string): Record<string, string> {
  return params['sid'] === undefined ? { ...params, sid: usrTag } : params;
}

/**
 * Rethrows a listener's exception outside the native callback frame (as an uncaught exception);
 * passes its return value on (undefined after a throw).
 */
function guarded<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R | undefined {
  return (...args: A) => {
    try {
      return fn(...args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
      return undefined;
    }
  };
}

/**
 * Output bytes of a wrapper land in one block per item, which the returned Buffer owns. Blocks of
 * `pooledMinBytes` or more are recycled once V8 has collected their Buffer, so a stream of large
 * results does not page-fault fresh memory in on every call. For diagnostics and tests.
 */
export function outputPoolStats(): OutputPoolStats {
  return loadBinding().outputPoolStats();
}

/** Outputs at least this large live in pooled blocks (output_blocks.h kPooledMinBytes). */
export const POOLED_MIN_BYTES = 1024 * 1024;

/**
 * Gives back now the memory of a large output this host returned (a pooled block, at least
 * `pooledMinBytes`), instead of when V8 collects its Buffer: the next large output reuses the block
 * at once. Call it only when nothing needs the bytes any more (e.g. a transport has serialized
 * them): the Buffer's ArrayBuffer is detached, so every view of it reads as empty from then on
 * (never freed memory: detaching is safe in V8, a late reader sees length 0).
 *
 * NOTE: without it a stream of large outputs makes V8 run a full GC every few calls (each Buffer is
 * new external memory to it until it is collected); BENCHMARKS.md (native section) has the
 * throughput with and without.
 *
 * Returns true when it released; false, leaving `data` alone, for anything else (a Buffer the host
 * did not make, a small output, one released already) and when no library was ever opened.
 */
export function releaseOutput(data: Uint8Array): boolean {
  return binding !== undefined && (data.byteLength >= POOLED_MIN_BYTES || regionOutputs) && binding.releaseOutput(data);
}

/** Set once outputs go to a shared region: its blocks start below POOLED_MIN_BYTES. */
let regionOutputs = false;

/**
 * dlopens `path` (RTLD_NOW | RTLD_LOCAL) on a worker thread, checks the ABI version it declares
 * (`aigesAbiVersion`, optional) and the exports the mode needs. Rejects with NativeError (reason
 * 'load', aigesCode 10901) naming the path and either the declared version and the versions this
 * host supports (1 … AIGES_ABI_VERSION), or EVERY missing required symbol.
 */
export async function openLibrary(path: string, options: OpenOptions): Promise<NativeLibrary> {
  const { onMeter, ...rest } = options;
  const handle = await loadBinding().openLibrary(path, onMeter ? { ...rest, onMeter: guarded(onMeter) } : rest);
  return {
    path: handle.path,
    version: handle.version,
    symbols: handle.symbols,
    abiVersion: handle.abiVersion,
    init: (config) => handle.init(config),
    fini: () => handle.fini(),
    exec: (usrTag, params, items, timeoutMs) => {
      const timeout = Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.round(timeoutMs)));
      const p = handle.exec(usrTag, withSid(params, usrTag), items, timeout);
      // An async exec abandoned at the deadline rejects at fini/close, long after the caller moved
      // on: that late rejection must not surface as an unhandled rejection.
      if (options.async) p.catch(() => undefined);
      return p;
    },
    createSession: async (usrTag, params, onResult) => {
      const id = await handle.createSession(usrTag, withSid(params, usrTag), guarded(onResult));
      return {
        write: (items) => handle.write(id, items),
        resume: () => handle.resume(id),
        destroy: () => handle.destroy(id),
      };
    },
    stats: () => handle.stats(),
    close: () => handle.close(),
  };
}

/** Memory shared with a plugin process: a memory file and its mapping in this process. */
export interface SharedRegion {
  /** The memory file (close-on-exec): hand it to one child process, then close it here. */
  fd: number;
  /** The mapping; unmapped when V8 collects it, i.e. once no view of it is left. */
  memory: ArrayBuffer;
}

/**
 * Makes a region of `bytes` shared with a child process (Linux: memfd_create; its pages are
 * allocated when first touched) and maps it here. Throws where the platform has no memory files.
 *
 * Inputs of a call that lie in a region (this process's or one mapped with mapSharedRegion) and
 * are followed there by a zero byte are handed to a sync wrapper where they lie, not copied
 * (native/host/shared_region.h): keep them unchanged until the call has returned.
 */
export function createSharedRegion(bytes: number): SharedRegion {
  return loadBinding().sharedRegionCreate(bytes);
}

/** Maps the region a parent process handed this one as `fd` (and closes the fd). */
export function mapSharedRegion(fd: number, bytes: number): ArrayBuffer {
  return loadBinding().sharedRegionMap(fd, bytes);
}

/**
 * Asks the kernel to kill this process when its parent dies (Linux), even while its JS thread is
 * stuck in a plugin. False when the parent `parentPid` is gone already.
 */
export function setParentDeathSignal(parentPid: number): boolean {
  return loadBinding().setParentDeathSignal(parentPid);
}

/**
 * Polls the socket `fd` for up to `maxUs` µs (at most 1000) with non-blocking reads, on this
 * thread; returns the bytes one read got (up to 64 KiB), or null when nothing came in time (or the
 * socket closed or failed: its event-loop handle then reports that). For a socket whose handle
 * reads it too: call only between the handle's reads (from JS), and feed what it returns to the
 * same consumer, in order.
 */
export function spinRead(fd: number, maxUs: number): Buffer | null {
  return loadBinding().spinRead(fd, maxUs);
}

/**
 * Writes `bytes` to the socket `fd` without waiting, on this thread; returns how many bytes it
 * took (0 when it takes none now), or -1 when it failed (the peer closed it: its event-loop
 * handle then reports that). For a socket whose handle writes it too: call only while the handle
 * has nothing queued, and queue the rest there, in order.
 */
export function sendNow(fd: number, bytes: Uint8Array): number {
  return loadBinding().sendNow(fd, bytes);
}

/** HMAC-SHA256 with a key prepared once (native/host/aksk_digest.h); what loader/auth/digest.ts uses. */
export interface NativeHmac {
  /** The key's prepared state: as secret as the key itself. */
  prepare(key: Uint8Array): Buffer;
  /** HMAC-SHA256 of `message` (UTF-8) into `out`'s first 32 bytes. */
  into(prepared: Buffer, message: string, out: Uint8Array): void;
}

/** The native HMAC, or undefined when the addon is not built (callers then use node:crypto). */
export function nativeHmac(): NativeHmac | undefined {
  let b: Binding;
  try {
    b = loadBinding();
  } catch {
    return undefined;
  }
  return { prepare: (key) => b.akskHmacPrepare(key), into: (prepared, message, out) => b.akskHmacInto(prepared, message, out) };
}

/**
 * From now on, this process's large outputs (at least `minBytes`) are copied by the host straight
 * into [at, at + bytes) of the shared region `memory` (one mapped with mapSharedRegion) instead of
 * host memory: a plugin process's outputs are then where the loader reads them. Once per process;
 * the region stays mapped for good. The arena's blocks are also what sharedRegionAlloc hands out.
 */
export function useSharedRegionForOutputs(memory: ArrayBuffer, at: number, bytes: number, minBytes: number): void {
  loadBinding().sharedRegionOutputs(memory, at, bytes, minBytes);
  regionOutputs = true;
}

/** The output arena (useSharedRegionForOutputs), for bytes copied into it from JS. */
export const sharedOutputArena = {
  /** A block of at least `bytes`: its offset from the region's start, or -1 when the arena is full. */
  alloc: (bytes: number): number => loadBinding().sharedRegionAlloc(bytes),
  /** Frees the block at `at` (one alloc made); false when none starts there. */
  free: (at: number): boolean => loadBinding().sharedRegionFree(at),
  /** The offset of the arena block `view` is (a host output written there), or -1. */
  offsetOf: (view: Uint8Array): number => (regionOutputs ? loadBinding().sharedRegionOffset(view) : -1),
};
