/**
 * The one table `npm run bench` ends with: every comparison of the run, ours against its
 * baseline, one metric per row, with the ratio ours/baseline. Each section turns its own results
 * into rows (report.ts, native-summary.ts, balancer-section.ts, session-section.ts).
 */

export interface SummaryRow {
  /** The item: (a) gRPC, (b) HTTP, (c) native, (d) balancer, (e) is the payload sizes of (a) and (b), (f) sessions, (g) process isolation; worker (worker isolation). */
  section: string;
  case: string;
  metric: string;
  /** True when a higher value is better (throughput); false for latency, CPU and memory. */
  higherIsBetter: boolean;
  ours: number;
  baseline: string;
  baselineValue: number;
}

/** Two significant-ish digits for small numbers, none for large ones. */
export function formatValue(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  const abs = Math.abs(n);
  return n.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

export function ratio(ours: number, baseline: number): string {
  const r = ours / baseline;
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a';
}

const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;

/** A markdown table: a header row, the separator, then the rows. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function summaryTable(rows: readonly SummaryRow[]): string {
  return [
    markdownTable(
      ['section', 'case', 'metric', 'ours', 'baseline', 'baseline value', 'ours/baseline'],
      rows.map((r) => [
        r.section,
        r.case,
        `${r.metric} (${r.higherIsBetter ? 'higher' : 'lower'} is better)`,
        formatValue(r.ours),
        r.baseline,
        formatValue(r.baselineValue),
        ratio(r.ours, r.baselineValue),
      ]),
    ),
    '',
    'ours/baseline: above 1× is better where higher is better (throughput), below 1× where lower is better.',
  ].join('\n');
}
