/**
 * The report of a run: what `runXtest` returns and what `--json` prints. Its shape is a contract
 * for machines (docs/xtest.md, "JSON report"): fields are only ever added within one
 * `schemaVersion`; a rename or removal bumps it. Names are camelCase, as in every `--json` of the
 * CLI; times are milliseconds unless the name says otherwise.
 */
import type { LatencySummary } from './latency.js';
import type { XtestOptions } from './options.js';
import type { ProcReport } from './proc-sampler.js';
import type { ErrorCount, Tallies, Totals } from './stats.js';
import type { TimelineReport } from './timeline.js';

/** 2: every name camelCase, as every `aiges … --json` (1 was snake_case: `latency_ms` is now `latencyMs`). */
export const SCHEMA_VERSION = 2;

export interface XtestReport {
  schemaVersion: typeof SCHEMA_VERSION;
  target: { protocol: 'grpc' | 'http'; address: string; service: string };
  mode: 'once' | 'session';
  concurrency: number;
  rampUpMs: number;
  /** What bounded the run: a count of calls or a duration (the other is null). */
  limit: { requests: number | null; durationMs: number | null };
  /** Per input key, how many distinct payloads were cycled through. */
  inputs: Record<string, number>;
  /** ISO 8601 time the run started. */
  startedAt: string;
  /** From the first call started to the last call finished. */
  elapsedMs: number;
  /** True when the run was stopped (signal, Ctrl-C) before its limit. */
  stoppedEarly: boolean;
  requests: Totals;
  throughput: { requestsPerS: number; succeededPerS: number };
  /** The error-code distribution, most frequent first; empty when every call succeeded. */
  errors: ErrorCount[];
  /** Whole-call latency of the successes (a whole session in session mode). */
  latencyMs: LatencySummary;
  /** Session mode only (null in once mode). */
  session: {
    frameBytes: number | null;
    frameIntervalMs: number;
    /** From opening a session to its first result with items. */
    firstResultMs: LatencySummary;
    /** From sending a session's last frame to its final result. */
    lastResultMs: LatencySummary;
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
    schemaVersion: SCHEMA_VERSION,
    target: { protocol: o.target.protocol, address: o.target.protocol === 'grpc' ? o.target.address : o.target.url, service: o.service },
    mode: o.mode,
    concurrency: o.concurrency,
    rampUpMs: o.rampUpMs,
    limit: { requests: o.requests ?? null, durationMs: o.durationMs ?? null },
    inputs: f.inputs,
    startedAt: f.startedAt.toISOString(),
    elapsedMs: Math.round(f.elapsedMs * 1000) / 1000,
    stoppedEarly: f.stoppedEarly,
    requests: tallies.requests,
    throughput: {
      requestsPerS: perSecond(tallies.requests.total, f.elapsedMs),
      succeededPerS: perSecond(tallies.requests.succeeded, f.elapsedMs),
    },
    errors: tallies.errors,
    latencyMs: tallies.latency,
    session:
      o.mode === 'session'
        ? {
            frameBytes: o.frameBytes ?? null,
            frameIntervalMs: o.frameIntervalMs,
            firstResultMs: tallies.firstResult,
            lastResultMs: tallies.lastResult,
          }
        : null,
    process: f.process,
    timeline: tallies.timeline,
  };
}
