/**
 * What the runner drives: one protocol (gRPC or HTTP) against one service. A target makes one
 * call and reports how it went; the runner owns timing of whole calls, counting and pacing.
 */
import type { DataType } from '../../../plugins/types.js';
import type { ClientTls } from '../client-tls.js';
import type { InputItem } from '../inputs.js';
import type { XtestOptions } from './options.js';

export interface CallOutcome {
  ok: boolean;
  /**
   * When the call failed: its error code, the loader's `aiges-code` when it sent one ("10909"),
   * else the transport's view: `grpc:<STATUS>` (e.g. grpc:UNAVAILABLE), `http:<status>`,
   * `net:<errno>` (e.g. net:ECONNREFUSED).
   */
  code?: string;
  /** The error message (the first one seen per code is reported). */
  message?: string;
  /** Session mode: from opening the session to the first result carrying items (or the end). */
  firstResultMs?: number;
  /** Session mode: from sending the last frame to the session's final result. */
  lastResultMs?: number;
  /** Once mode, with TargetOptions.outputs: the answer's items (`aiges batch` keeps them). */
  outputs?: OutputItem[];
}

/** An output item as a target hands it back. */
export interface OutputItem {
  key: string;
  type: DataType;
  encoding: string;
  data: Buffer;
}

export interface Target {
  /** One once call with these items (and these params, else the target's). Never rejects: failures are outcomes. */
  once(items: InputItem[], params?: Record<string, string>): Promise<CallOutcome>;
  /**
   * One whole session: open, send each frame (awaiting `pause()` between two frames), end, and
   * read every result. Never rejects: failures are outcomes.
   */
  session(frames: InputItem[][], pause: () => Promise<void>): Promise<CallOutcome>;
  close(): Promise<void>;
}

/** What every target is built from. */
export type TargetOptions = Pick<XtestOptions, 'service' | 'params' | 'timeoutMs' | 'concurrency' | 'credentials'> & {
  /** What the TLS files hold (read by the runner); absent: none given. */
  tls?: ClientTls | undefined;
  /** Once calls hand back their output items (`aiges batch`); xtest leaves them. */
  outputs?: boolean;
};

/** An error that is not the loader's answer (no aiges-code): transport or client trouble. */
export function transportFailure(err: unknown, prefix: 'grpc' | 'net', name: string | undefined): CallOutcome {
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, code: `${prefix}:${name ?? 'ERROR'}`, message };
}
