/** The text report of `aiges check`: a header, one PASS/FAIL line per sample, a summary. */
import type { CheckReport } from './check.js';

export function formatReport(report: CheckReport): string {
  const lines = [
    `checking ${report.service} (${report.kind}, ${report.entry}) with ${report.results.length} sample(s) from ${report.samplesFile}`,
  ];
  for (const r of report.results) {
    const head = `${r.ok ? 'PASS' : 'FAIL'}  ${r.name} (${r.mode}, ${r.ms} ms)`;
    lines.push(r.ok ? head : `${head}: ${r.reason}`);
  }
  lines.push(`${report.passed} passed, ${report.failed} failed`);
  return `${lines.join('\n')}\n`;
}
