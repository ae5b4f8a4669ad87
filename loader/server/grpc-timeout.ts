/**
 * Long gRPC deadlines. grpc-js's server keeps a call's `grpc-timeout` in milliseconds in a 32-bit
 * int (`(n * unit) | 0`): from about 24.8 days a deadline turns negative (the call fails at once
 * with DEADLINE_EXCEEDED) and from about 49.7 days it wraps to an arbitrary shorter one. Before
 * grpc-js reads the header, a timeout longer than a Node timer reaches is rewritten to the
 * longest one it does (2^31 - 1 ms, about 24.8 days): such a call keeps a deadline far away
 * instead of none or a wrong one.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** The longest timeout grpc-js's server keeps right: a Node timer's limit. */
export const MAX_GRPC_TIMEOUT_MS = 2 ** 31 - 1;
const LONGEST = `${Math.floor(MAX_GRPC_TIMEOUT_MS / 1000)}S`;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };
/** The header as grpc-js matches it (unanchored, as it does). */
const TIMEOUT = /(\d{1,8})\s*([HMSmun])/;

/** Rewrites a `grpc-timeout` longer than MAX_GRPC_TIMEOUT_MS to the longest one kept right. */
export function clampTimeoutHeader(headers: IncomingHttpHeaders): void {
  const value = headers['grpc-timeout'];
  if (typeof value !== 'string') return;
  const m = TIMEOUT.exec(value);
  if (m !== null && Number(m[1]) * (UNIT_MS[m[2] as string] as number) > MAX_GRPC_TIMEOUT_MS) headers['grpc-timeout'] = LONGEST;
}

function onStream(_stream: unknown, headers: IncomingHttpHeaders): void {
  clampTimeoutHeader(headers);
}

const watched = new WeakSet<EventEmitter>();

/**
 * Clamps long timeouts on every HTTP/2 server `server` has bound (call after each bind).
 *
 * NOTE: grpc-js offers no hook ahead of its header parsing, so this reaches its private
 * `http2Servers` and puts a 'stream' listener before its own (both get the same headers object).
 * A grpc-js without that field fails the bind loudly rather than serving long deadlines wrongly;
 * test/server/grpc-deadline.test.ts covers it.
 */
export function clampLongTimeouts(server: grpc.Server): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) throw new Error('@grpc/grpc-js no longer keeps Server.http2Servers: see loader/server/grpc-timeout.ts');
  for (const h2 of servers.keys() as Iterable<EventEmitter>) {
    if (watched.has(h2)) continue;
    watched.add(h2);
    h2.prependListener('stream', onStream);
  }
}
