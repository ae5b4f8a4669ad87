/**
 * The entry of each worker thread of an `isolation = "worker"` plugin (run by the pool, piscina).
 *
 * On start the thread hands the loader its control port (on `parentPort`), imports the plugin
 * (kind ts) and says what it declares, or why it could not. Its default export, the pool's task
 * handler, resolves only when the loader says `start`, after every instance set the loader has
 * was initialised here: the pool gives a thread no exec before that, so a replacement for a dead
 * thread never runs an exec uninitialised.
 *
 * Each instance set of the plugin (a hot [wrapper] change makes a second one beside the first)
 * has its own state in every thread: `init` runs in each thread, `fini` in each thread.
 *
 * A fault in this thread — an unhandled rejection, an uncaught exception — is the plugin's (all
 * code here runs for it): it is reported to the loader, and it fails the call it belongs to,
 * with 10909: the exec or session whose sid the error carries, else the only one running here,
 * else none (the loader still logs and counts it). The thread goes on.
 */
import { MessageChannel, type MessagePort, parentPort, threadId, type Transferable, workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { describe, sidOf } from '../../faults.js';
import { Codes } from '../../../plugins/errors.js';
import type { ServiceCallOptions, ServiceRequest, ServiceResponse, Wrapper } from '../../../plugins/types.js';
import { importWrapper } from '../kind-ts.js';
import { PendingInfers, ThreadCall, type ThreadLink, ThreadLog, type ThreadSet } from './thread-context.js';
import { ThreadSession } from './thread-session.js';
import {
  type Description,
  type ExecResult,
  type ExecTask,
  type FromThread,
  fromWireError,
  HELLO,
  type Hello,
  itemsFromWire,
  outputsToWire,
  plain,
  type ThreadData,
  type ToThread,
  toWireError,
  type WireError,
} from './wire.js';

const data = workerData as ThreadData;
const { port1: control, port2 } = new MessageChannel();
parentPort!.postMessage({ [HELLO]: true, thread: threadId, control: port2 } satisfies Hello, [port2]);

const post = (message: FromThread) => control.postMessage(message);

const link: ThreadLink = {
  level: 30,
  log(set, level, bindings, obj, msg) {
    try {
      post({ op: 'log', set, level, bindings, obj, msg });
    } catch {
      // Something structured clone refuses (a function, a symbol): its JSON-safe copy instead.
      post({ op: 'log', set, level, bindings: plain(bindings) as Record<string, unknown>, obj: plain(obj), msg });
    }
  },
  meter: (set, key, count) => post({ op: 'meter', set, key, count }),
};

let wrapper: Wrapper | undefined;
const sets = new Map<number, ThreadSet & { initialised: Promise<void>; abort: AbortController }>();
/** Execs running here, by the loader's call id. */
const calls = new Map<number, ThreadCall>();
const sessions = new Set<ThreadSession>();
/** ctx.infer calls of execs here waiting for the loader's answer. */
const inferring = new PendingInfers();

/** An exec's ctx.infer, made by the loader's call of that exec (nested under it there). */
function relayInfer(
  call: number,
  service: string,
  request: ServiceRequest,
  options: ServiceCallOptions | undefined,
): Promise<ServiceResponse> {
  return inferring.call((id) => post({ op: 'infer', call, id, service, request, options }));
}

/** Aborts that arrived before their exec did (the control port and the task port do not keep order between them). */
const earlyAborts = new Map<number, WireError>();
const EARLY_ABORTS_KEPT = 256;

let start!: (handler: (task: ExecTask) => Promise<unknown>) => void;
/** The pool's task handler, once the loader says `start`. */
export default new Promise<(task: ExecTask) => Promise<unknown>>((resolve) => (start = resolve));

process.on('unhandledRejection', (reason) => onFault('unhandled_rejection', reason));
process.on('uncaughtException', (err) => onFault('uncaught_exception', err));

control.on('message', (message: ToThread) => {
  switch (message.op) {
    case 'init':
      link.level = message.level;
      void init(message.set, message.config);
      return;
    case 'init-abort':
      sets.get(message.set)?.abort.abort(new Error('init timed out'));
      return;
    case 'start':
      start(exec);
      return;
    case 'fini':
      void fini(message.set);
      return;
    case 'abort': {
      const call = calls.get(message.call);
      if (call !== undefined) call.abort(message.reason);
      else {
        earlyAborts.set(message.call, message.reason);
        if (earlyAborts.size > EARLY_ABORTS_KEPT) earlyAborts.delete(earlyAborts.keys().next().value as number);
      }
      return;
    }
    case 'infer-done':
      inferring.settle(message.id, message.items, message.error);
      return;
    case 'session':
      link.level = message.level;
      openSession(message.port, message.set, message.sid, message.deadline, message.params);
      return;
  }
});

importWrapper(data.entry).then(
  (w) => {
    wrapper = w;
    post({ op: 'loaded', plugin: description(w) });
  },
  (err: unknown) => post({ op: 'load-failed', error: toWireError(err) }),
);

function description(w: Wrapper): Description {
  return {
    id: w.id,
    version: w.version,
    description: w.description,
    schema: w.schema,
    batching: w.batching,
    exec: typeof w.exec === 'function',
    session: typeof w.session?.create === 'function',
    init: typeof w.init === 'function',
    fini: typeof w.fini === 'function',
  };
}

async function init(id: number, config: ThreadSet['config']): Promise<void> {
  const w = wrapper!;
  const abort = new AbortController();
  let done!: () => void;
  const set = {
    id,
    service: w.id,
    config,
    log: new ThreadLog(link, id),
    meter: (key: string, count = 1) => link.meter(id, key, count),
    state: undefined as unknown,
    initialised: new Promise<void>((resolve) => (done = resolve)),
    abort,
  };
  sets.set(id, set);
  try {
    if (w.init !== undefined)
      set.state = await w.init(config, { service: w.id, log: set.log, config, meter: set.meter, signal: abort.signal });
    post({ op: 'inited', set: id });
  } catch (err) {
    sets.delete(id);
    post({ op: 'init-failed', set: id, error: toWireError(err) });
  } finally {
    done();
  }
}

async function fini(id: number): Promise<void> {
  const set = sets.get(id);
  let error: WireError | undefined;
  if (set !== undefined) {
    await set.initialised;
    // A set whose init failed is gone already: nothing to finalise.
    if (sets.delete(id) && wrapper?.fini !== undefined) {
      try {
        await wrapper.fini(set.state);
      } catch (err) {
        error = toWireError(err);
      }
    }
  }
  post({ op: 'finished', set: id, error });
}

/** One exec: the plugin's result, or its error, as data; the output's bytes moved. */
async function exec(task: ExecTask): Promise<unknown> {
  link.level = task.level;
  const set = sets.get(task.set);
  if (set === undefined) {
    return { ok: false, error: toWireError(new Error(`instance set ${task.set} is not initialised in worker thread ${threadId}`)) };
  }
  const ctx = new ThreadCall(set, task.sid, task.deadline, (service, request, options) => relayInfer(task.call, service, request, options));
  calls.set(task.call, ctx);
  const early = earlyAborts.get(task.call);
  if (early !== undefined) {
    earlyAborts.delete(task.call);
    ctx.abort(early);
  }
  const request = {
    service: task.service,
    params: task.params,
    headers: task.headers,
    items: itemsFromWire<ExecTask['items'][number]>(task.items),
  };
  const transfer: Transferable[] = [];
  let result: ExecResult;
  try {
    const output = await new Promise<unknown>((resolve, reject) => {
      ctx.fail = reject;
      const out = wrapper!.exec!(request, ctx);
      if (typeof (out as PromiseLike<unknown> | null)?.then === 'function') (out as PromiseLike<unknown>).then(resolve, reject);
      else resolve(out);
    });
    result = { ok: true, items: outputsToWire(output, transfer) };
  } catch (err) {
    result = { ok: false, error: toWireError(err) };
  } finally {
    calls.delete(task.call);
  }
  if (transfer.length === 0) return result;
  return move({ [transferableSymbol]: transfer, [valueSymbol]: result } as never);
}

function openSession(port: MessagePort, setId: number, sid: string, deadline: number, params: ExecTask['params']): void {
  const set = sets.get(setId);
  if (set === undefined) {
    port.postMessage({
      op: 'create-failed',
      error: toWireError(new Error(`instance set ${setId} is not initialised in worker thread ${threadId}`)),
    });
    port.close();
    return;
  }
  const session = new ThreadSession(port, set, sid, deadline, () => sessions.delete(session));
  sessions.add(session);
  void session.open(wrapper!, params);
}

function onFault(kind: 'unhandled_rejection' | 'uncaught_exception', value: unknown): void {
  const sid = sidOf(value);
  let call: ThreadCall | undefined;
  let session: ThreadSession | undefined;
  if (sid !== undefined) {
    for (const c of calls.values()) if (c.sid === sid) call = c;
    if (call === undefined) for (const s of sessions) if (s.sid === sid) session = s;
  }
  if (call === undefined && session === undefined && calls.size + sessions.size === 1) {
    call = calls.values().next().value;
    session = call === undefined ? sessions.values().next().value : undefined;
  }
  const owner = call?.sid ?? session?.sid ?? sid;
  try {
    post({ op: 'fault', kind, error: toWireError(value), sid: owner });
  } catch {
    // the control port is gone: the thread is being terminated
  }
  if (call === undefined && session === undefined) return;
  const error = fromWireError(
    toWireError(value, { code: Codes.PLUGIN_EXEC, message: `plugin fault (${kind.replace('_', ' ')}): ${describe(value)}` }),
  );
  call?.fail?.(error);
  session?.fail(error);
}
