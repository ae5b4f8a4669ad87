/** The report for people: a short aligned summary, what `aiges xtest` prints without --json. */
import type { LatencySummary } from './latency.js';
import type { XtestReport } from './report.js';

const MIB = 1024 * 1024;

function ms(v: number | null): string {
  if (v === null) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

function latencyLine(s: LatencySummary): string {
  if (s.count === 0) return 'none';
  return `min ${ms(s.min)}  p50 ${ms(s.p50)}  p90 ${ms(s.p90)}  p95 ${ms(s.p95)}  p99 ${ms(s.p99)}  max ${ms(s.max)}  mean ${ms(s.mean)}`;
}

const row = (label: string, value: string) => `  ${label.padEnd(18)}${value}`;

export function formatReport(r: XtestReport): string {
  const limit = r.limit.requests !== null ? `${r.limit.requests} requests` : `${r.limit.durationMs} ms`;
  const lines = [
    `aiges xtest: ${r.target.service} over ${r.target.protocol} ${r.target.address}, ${r.mode} mode, concurrency ${r.concurrency}, ${limit}` +
      (r.stoppedEarly ? ' (stopped early)' : ''),
    row('elapsed', `${(r.elapsedMs / 1000).toFixed(3)} s`),
    row('requests', `${r.requests.total} (succeeded ${r.requests.succeeded}, failed ${r.requests.failed})`),
    row('throughput', `${r.throughput.requestsPerS} req/s (${r.throughput.succeededPerS} succeeded/s)`),
    row('latency ms', latencyLine(r.latencyMs)),
  ];
  if (r.session !== null) {
    lines.push(row('first result ms', latencyLine(r.session.firstResultMs)));
    lines.push(row('last result ms', latencyLine(r.session.lastResultMs)));
  }
  if (r.errors.length > 0) {
    lines.push('  errors (code  count  first message)');
    const width = Math.max(...r.errors.map((e) => e.code.length));
    for (const e of r.errors) lines.push(`    ${e.code.padEnd(width)}  ${String(e.count).padStart(6)}  ${e.message}`);
  }
  if (r.process !== null) {
    const p = r.process;
    const cpu = p.cpuPercent.mean === null ? '-' : `mean ${p.cpuPercent.mean}% max ${p.cpuPercent.max ?? '-'}%`;
    const rss = `min ${(p.rssBytes.min / MIB).toFixed(1)} max ${(p.rssBytes.max / MIB).toFixed(1)} last ${(p.rssBytes.last / MIB).toFixed(1)} MiB`;
    lines.push(row(`process ${p.pid}`, `cpu ${cpu}, rss ${rss}${p.exited ? ' (exited during the run)' : ''}`));
  }
  return `${lines.join('\n')}\n`;
}
