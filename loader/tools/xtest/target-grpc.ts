/**
 * The gRPC target: aiges.v1.Loader/Infer for once calls and Loader/Session streams, through the
 * client `aiges call` uses (loader/client.ts), all over one channel.
 *
 * NOTE: grpc-js multiplexes every call on one HTTP/2 connection; at the concurrencies a single
 * client process drives, that is what real clients do and what the loader should be sized for.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { aigesCodeOf, createLoaderClient, infer, runSession } from '../client.js';
import { Codes } from '../../errors.js';
import { DataStatus } from '../../../plugins/types.js';
import type { InputItem } from '../inputs.js';
import { transportFailure, type CallOutcome, type Target, type TargetOptions } from './target.js';

/** A failed gRPC call as an outcome: its aiges-code, else the transport's status. */
export function grpcFailure(err: unknown): CallOutcome {
  const code = aigesCodeOf(err);
  const e = err as { code?: number; details?: string };
  if (code !== undefined) return { ok: false, code: String(code), message: e.details ?? String(err) };
  // NOTE: client and loader share the call's deadline, and the client often notices it first
  // (no trailer then). Either way the call ran past --timeout-ms: counted as the catalog's 10102,
  // so the distribution does not depend on who won the race.
  if (e.code === GrpcStatus.DEADLINE_EXCEEDED)
    return { ok: false, code: String(Codes.EXEC_TIMEOUT), message: e.details ?? 'deadline exceeded' };
  return transportFailure(err, 'grpc', e.code === undefined ? undefined : GrpcStatus[e.code]);
}

export function grpcTarget(address: string, options: TargetOptions): Target {
  const client = createLoaderClient(address, {}, options.tls, options.credentials);
  const { service, params, timeoutMs } = options;
  return {
    async once(items, callParams = params) {
      try {
        const res = await infer(client, { service, params: callParams, items }, timeoutMs);
        return options.outputs === true ? { ok: true, outputs: res.items } : { ok: true };
      } catch (err) {
        return grpcFailure(err);
      }
    },

    async session(frames: InputItem[][], pause) {
      const t0 = performance.now();
      let sent = 0;
      let lastSentAt = t0;
      let firstAt: number | undefined;
      let lastAt = t0;
      try {
        await runSession(client, { service, params }, frames, {
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
          // Called before each frame is written: pause between frames, not before the first.
          frameDelay: async () => {
            if (sent > 0) await pause();
            sent++;
            if (sent === frames.length) lastSentAt = performance.now();
          },
          onResponse: (r) => {
            lastAt = performance.now();
            if (firstAt === undefined && (r.items.length > 0 || r.status === DataStatus.END)) firstAt = lastAt;
          },
        });
      } catch (err) {
        return grpcFailure(err);
      }
      return { ok: true, firstResultMs: (firstAt ?? lastAt) - t0, lastResultMs: lastAt - lastSentAt };
    },

    async close() {
      client.close();
    },
  };
}
