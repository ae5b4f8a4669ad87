/**
 * The summary of an `aiges batch` run: what it printed at the end as text, or as JSON with --json
 * (`schemaVersion` 1, docs/batch.md), and what it writes to `<out>/summary.json`.
 */
import type { LatencySummary } from '../xtest/latency.js';

export interface BatchSummary {
  schemaVersion: 1;
  target: string;
  service: string;
  input: { path: string; kind: string };
  out: string;
  concurrency: number;
  items: {
    /** Items read from the input in this run (skipped ones included). */
    read: number;
    /** Done by an earlier run (their id is in predictions.jsonl): not called again. */
    skipped: number;
    /** Answered and written to predictions.jsonl in this run. */
    ok: number;
    /** Written to errors.jsonl in this run. */
    failed: number;
  };
  /** Failed items by code, most frequent first, with the first message seen. */
  failures: { code: string; count: number; message: string }[];
  /** Calls made again after a retryable failure. */
  retries: number;
  elapsedMs: number;
  /** Items answered or failed per second of this run. */
  itemsPerS: number;
  /** Latency of the calls that answered (the last attempt of each), in ms. */
  latencyMs: LatencySummary;
  /** Ctrl-C (or SIGTERM) stopped the job before the input ended. */
  stoppedEarly: boolean;
}

const ms = (v: number | null) => (v === null ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3));
const row = (label: string, value: string) => `  ${label.padEnd(14)}${value}`;

export function formatSummary(s: BatchSummary): string {
  const l = s.latencyMs;
  const lines = [
    `aiges batch: ${s.service} via ${s.target}, ${s.input.kind} ${s.input.path} → ${s.out}, concurrency ${s.concurrency}${s.stoppedEarly ? ' (stopped early)' : ''}`,
    row('items', `${s.items.read} read: ${s.items.ok} ok, ${s.items.failed} failed, ${s.items.skipped} skipped (done before)`),
    row('retries', String(s.retries)),
    row('elapsed', `${(s.elapsedMs / 1000).toFixed(3)} s`),
    row('throughput', `${s.itemsPerS} items/s`),
    row(
      'latency ms',
      l.count === 0 ? 'none' : `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}  mean ${ms(l.mean)}`,
    ),
  ];
  if (s.failures.length > 0) {
    lines.push('  failures (code  count  first message; every one in errors.jsonl)');
    const width = Math.max(...s.failures.map((f) => f.code.length));
    for (const f of s.failures) lines.push(`    ${f.code.padEnd(width)}  ${String(f.count).padStart(6)}  ${f.message}`);
  }
  return `${lines.join('\n')}\n`;
}
