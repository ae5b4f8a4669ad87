/**
 * The report of a run: what `runXtest` returns and what `--json` prints. Its shape is a contract
 * for machines (docs/xtest.md, "JSON report"): fields are only ever added within one
 * `schema_version`; a rename or removal bumps it. Names are snake_case; times are milliseconds
 * unless the name says otherwise.
 */
import type { LatencySummary } from './latency.js';
import type { XtestOptions } from './options.js';
import type { ProcReport } from './proc-sampler.js';
import type { ErrorCount, Tallies, Totals } from './stats.js';
import type { TimelineReport } from './timeline.js';

export const SCHEMA_VERSION = 1;

export interface XtestReport {
  schema_version: typeof SCHEMA_VERSION;
  target: { protocol: 'grpc' | 'http'; address: string; service: string };
  mode: 'once' | 'session';
  concurrency: number;
  ramp_up_ms: number;
  /** What bounded the run: a count of calls or a duration (the other is null). */
  limit: { requests: number | null; duration_ms: number | null };
  /** Per input key, how many distinct payloads were cycled through. */
  inputs: Record<string, number>;
  /** ISO 8601 time the run started. */
  started_at: string;
  /** From the first call started to the last call finished. */
  elapsed_ms: number;
  /** True when the run was stopped (signal, Ctrl-C) before its limit. */
  stopped_early: boolean;
  requests: Totals;
  throughput: { requests_per_s: number; succeeded_per_s: number };
  /** The error-code distribution, most frequent first; empty when every call succeeded. */
  errors: ErrorCount[];
  /** Whole-call latency of the successes (a whole session in session mode). */
  latency_ms: LatencySummary;
  /** Session mode only (null in once mode). */
  session: {
    frame_bytes: number | null;
    frame_interval_ms: number;
    /** From opening a session to its first result with items. */
    first_result_ms: LatencySummary;
    /** From sending a session's last frame to its final result. */
    last_result_ms: LatencySummary;
  } | null;
  /** `--pid` sampling (null without it). */
  process: ProcReport | null;
  timeline: TimelineReport;
}

export interface RunFacts {
  options: XtestOptions;
  inputs: Record<string, number>;
  startedAt: Date;
  elapsedMs: number;
  stoppedEarly: boolean;
  tallies: Tallies;
  process: ProcReport | null;
}

const perSecond = (n: number, ms: number) => (ms > 0 ? Math.round((n / ms) * 1000 * 100) / 100 : 0);

export function buildReport(f: RunFacts): XtestReport {
  const o = f.options;
  const { tallies } = f;
  return {
    schema_version: SCHEMA_VERSION,
    target: { protocol: o.target.protocol, address: o.target.protocol === 'grpc' ? o.target.address : o.target.url, service: o.service },
    mode: o.mode,
    concurrency: o.concurrency,
    ramp_up_ms: o.rampUpMs,
    limit: { requests: o.requests ?? null, duration_ms: o.durationMs ?? null },
    inputs: f.inputs,
    started_at: f.startedAt.toISOString(),
    elapsed_ms: Math.round(f.elapsedMs * 1000) / 1000,
    stopped_early: f.stoppedEarly,
    requests: tallies.requests,
    throughput: {
      requests_per_s: perSecond(tallies.requests.total, f.elapsedMs),
      succeeded_per_s: perSecond(tallies.requests.succeeded, f.elapsedMs),
    },
    errors: tallies.errors,
    latency_ms: tallies.latency,
    session:
      o.mode === 'session'
        ? {
            frame_bytes: o.frameBytes ?? null,
            frame_interval_ms: o.frameIntervalMs,
            first_result_ms: tallies.firstResult,
            last_result_ms: tallies.lastResult,
          }
        : null,
    process: f.process,
    timeline: tallies.timeline,
  };
}
