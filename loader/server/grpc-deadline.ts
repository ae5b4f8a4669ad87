/**
 * Deadlines of gRPC calls, read before grpc-js reads them. The data plane times each call's
 * deadline and answers it with 10102; grpc-js's server keeps a timer of its own from the
 * `grpc-timeout` header, which answers without `aiges-code`, holds the milliseconds in a 32-bit
 * int (from about 24.8 days a deadline turns negative: the call fails at once; from about 49.7
 * days it wraps to a shorter one), and is the only deadline of a request that never arrives whole
 * (a length prefix promising 20 MiB, then nothing): no handler runs for it, so the data plane
 * never sees it.
 *
 * So for Infer (and V2 ModelInfer, which shares its default) and Session, a 'stream' listener ahead of grpc-js's own:
 * - passes the client's deadline on in the `aiges-deadline` header (epoch ms; one a client sends
 *   is dropped), which the adapter gives the data plane (deadlineOf);
 * - sets `grpc-timeout` to a backstop: the client's timeout, else the loader's default for the
 *   method (`limits.default_deadline_ms`, `limits.session_deadline_ms`), plus as much again up to
 *   BACKSTOP_GRACE_MS, at most 2^31 - 1 ms in all. It fires only where the data plane has not answered: a request still
 *   arriving, or stalled.
 * V2 ModelStreamInfer gets both for a client's deadline only: without one the stream has no
 * deadline, each once call and session on it has the loader's default.
 * Other methods (Relay, WatchLoad, Metadata, health) keep their header, clamped.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** The longest timeout grpc-js's server keeps right: a Node timer's limit (about 24.8 days). */
export const MAX_GRPC_TIMEOUT_MS = 2 ** 31 - 1;
/** How long after the deadline (at most: no longer than the deadline's own length) grpc-js's own timer ends a call the data plane has not answered. */
export const BACKSTOP_GRACE_MS = 5_000;
/** The header carrying the client's deadline (epoch ms) from here to the adapter. */
export const DEADLINE_HEADER = 'aiges-deadline';

/** A stream of once calls and sessions: only a client's deadline is passed on (no default of its own). */
const STREAM_INFER_PATH = '/inference.GRPCInferenceService/ModelStreamInfer';

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };
/** The header's form (grpc-js matches it unanchored, as here). */
const TIMEOUT = /(\d{1,8})\s*([HMSmun])/;

/** The loader's deadline defaults, read per call (a pushed config changes them). */
export interface DefaultDeadlines {
  readonly default_deadline_ms: number;
  readonly session_deadline_ms: number;
}

/** A timeout in grpc-timeout's form: at most 8 digits, in ms or, when longer, in seconds. */
function timeoutText(ms: number): string {
  const clamped = Math.min(Math.ceil(ms), MAX_GRPC_TIMEOUT_MS);
  return clamped < 1e8 ? `${clamped}m` : `${Math.floor(clamped / 1000)}S`;
}

/** The timeout `value` sets, in ms; undefined when it is not one grpc-js reads. */
function timeoutMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TIMEOUT.exec(value);
  return m === null ? undefined : Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** Rewrites one request's headers as the module header says. */
export function guardDeadline(headers: IncomingHttpHeaders, defaults: DefaultDeadlines | undefined, now = Date.now()): void {
  delete headers[DEADLINE_HEADER];
  const path = headers[':path'];
  const limit =
    defaults === undefined
      ? undefined
      : path === '/aiges.v1.Loader/Infer' || path === '/inference.GRPCInferenceService/ModelInfer'
        ? defaults.default_deadline_ms
        : path === '/aiges.v1.Loader/Session'
          ? defaults.session_deadline_ms
          : undefined;
  const value = headers['grpc-timeout'];
  const client = timeoutMs(value);
  if (path === STREAM_INFER_PATH && defaults !== undefined && client !== undefined) {
    // No default: each call on the stream has its own; the client's deadline bounds them all.
    headers[DEADLINE_HEADER] = String(now + client);
    headers['grpc-timeout'] = timeoutText(client + Math.min(client, BACKSTOP_GRACE_MS));
    return;
  }
  if (limit === undefined) {
    if (client !== undefined && client > MAX_GRPC_TIMEOUT_MS) headers['grpc-timeout'] = timeoutText(client);
    return;
  }
  // A header grpc-js cannot read is left for it to refuse.
  if (value !== undefined && client === undefined) return;
  if (client !== undefined) headers[DEADLINE_HEADER] = String(now + client);
  const ms = client ?? limit;
  headers['grpc-timeout'] = timeoutText(ms + Math.min(ms, BACKSTOP_GRACE_MS));
}

/** The client's deadline of a call whose headers guardDeadline saw (epoch ms), else undefined. */
export function clientDeadline(metadata: grpc.Metadata): number | undefined {
  const value = metadata.get(DEADLINE_HEADER)[0];
  return typeof value === 'string' ? Number(value) : undefined;
}

const guarded = new WeakSet<EventEmitter>();

/**
 * Guards the deadlines of every HTTP/2 server `server` has bound (call after each bind); without
 * `defaults` (a server that is not a loader's) it only clamps long timeouts.
 *
 * NOTE: grpc-js offers no hook ahead of its header parsing, so this reaches its private
 * `http2Servers` and puts a 'stream' listener before its own (both get the same headers object).
 * A grpc-js without that field fails the bind loudly rather than serving deadlines wrongly;
 * test/server/grpc-deadline.test.ts covers it.
 */
export function guardDeadlines(server: grpc.Server, defaults?: () => DefaultDeadlines): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) throw new Error('@grpc/grpc-js no longer keeps Server.http2Servers: see loader/server/grpc-deadline.ts');
  for (const h2 of servers.keys() as Iterable<EventEmitter>) {
    if (guarded.has(h2)) continue;
    guarded.add(h2);
    h2.prependListener('stream', (_stream: unknown, headers: IncomingHttpHeaders) => guardDeadline(headers, defaults?.()));
  }
}
