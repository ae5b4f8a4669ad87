/**
 * `--chart`: latency over time as a small self-contained SVG (no script, no external resource),
 * or an HTML page holding that SVG and the report's summary. Lines: p50, p99 and max latency of
 * each timeline bucket; red bars: the share of calls failed in the bucket; with `--pid`, the
 * target's RSS on the right axis.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ToolError } from '../errors.js';
import { XtestCodes } from './errors.js';
import type { XtestReport } from './report.js';
import { formatReport } from './report-text.js';

export type ChartFormat = 'svg' | 'html';

const W = 960;
const H = 420;
const M = { left: 70, right: 80, top: 60, bottom: 56 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

/** The chart format a file name asks for; throws XTEST_CHART_UNWRITABLE for another extension. */
export function chartFormatOf(path: string): ChartFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.svg') return 'svg';
  if (ext === '.html' || ext === '.htm') return 'html';
  throw new ToolError(XtestCodes.CHART_UNWRITABLE, `--chart needs a .svg or .html file name, got "${path}"`);
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round axis top at or above `v` (1, 2 or 5 times a power of ten). */
function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((k) => k * p >= v) as number) * p;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(3).replace(/\.?0+$/, ''));

/** A polyline path through the points, broken where a value is missing. */
function path(points: [number, number | null][], x: (t: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  for (const [t, v] of points) {
    if (v === null) pen = false;
    else {
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
  }
  return d;
}

export function renderSvg(r: XtestReport): string {
  const { bucketMs: width, buckets } = r.timeline;
  const endS = Math.max(r.elapsedMs, buckets.length * width) / 1000;
  const topMs = niceCeil(Math.max(0, ...buckets.map((b) => b.maxMs ?? 0)));
  const x = (s: number) => M.left + (s / endS) * PW;
  const y = (v: number) => M.top + PH - (v / topMs) * PH;
  const mid = (i: number) => ((i + 0.5) * width) / 1000;
  const series = (pick: (b: (typeof buckets)[number]) => number | null) =>
    path(
      buckets.map((b, i) => [mid(i), pick(b)]),
      x,
      y,
    );
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(`aiges xtest: ${r.target.service} latency over time`)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="24" font-size="15">${escapeXml(`${r.target.service} · ${r.mode} over ${r.target.protocol} · concurrency ${r.concurrency} · ${r.requests.total} calls, ${r.requests.failed} failed`)}</text>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const v = (topMs * k) / 5;
    out.push(`<line x1="${M.left}" x2="${M.left + PW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  const step = niceCeil(endS / 5);
  for (let k = 0; k * step <= endS * 1.0001; k++) {
    const s = Number((k * step).toPrecision(6));
    out.push(`<text x="${x(s).toFixed(1)}" y="${M.top + PH + 18}" text-anchor="middle">${fmt(s)}</text>`);
  }
  out.push(`<text x="${M.left + PW / 2}" y="${H - 12}" text-anchor="middle">time (s)</text>`);
  out.push(`<text transform="translate(18 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">latency (ms)</text>`);
  buckets.forEach((b, i) => {
    const calls = b.succeeded + b.failed;
    if (b.failed === 0 || calls === 0) return;
    const h = (b.failed / calls) * 40;
    out.push(
      `<rect x="${x((i * width) / 1000).toFixed(1)}" y="${(M.top + PH - h).toFixed(1)}" width="${((width / 1000 / endS) * PW).toFixed(1)}" height="${h.toFixed(1)}" fill="#d62728" fill-opacity="0.5"><title>${b.failed} of ${calls} failed</title></rect>`,
    );
  });
  const lines: [string, string, string, (b: (typeof buckets)[number]) => number | null][] = [
    ['max', '#999', ' stroke-dasharray="4 3"', (b) => b.maxMs],
    ['p99', '#ff7f0e', '', (b) => b.p99Ms],
    ['p50', '#1f77b4', '', (b) => b.p50Ms],
  ];
  for (const [, color, dash, pick] of lines)
    out.push(`<path d="${series(pick)}" fill="none" stroke="${color}" stroke-width="1.8"${dash}/>`);
  const legend: [string, string][] = lines.map(([name, color]) => [name, color]);
  legend.push(['failed share', '#d62728']);
  if (r.process !== null && r.process.samples.length > 0) {
    const topMiB = niceCeil(r.process.rssBytes.max / 1024 / 1024);
    const yr = (mib: number) => M.top + PH - (mib / topMiB) * PH;
    const pts: [number, number | null][] = r.process.samples.map((s) => [s.tMs / 1000, s.rssBytes / 1024 / 1024]);
    out.push(`<path d="${path(pts, x, yr)}" fill="none" stroke="#2ca02c" stroke-width="1.5"/>`);
    for (let k = 0; k <= 5; k++)
      out.push(`<text x="${M.left + PW + 8}" y="${(yr((topMiB * k) / 5) + 4).toFixed(1)}">${fmt((topMiB * k) / 5)}</text>`);
    out.push(
      `<text transform="translate(${W - 14} ${M.top + PH / 2}) rotate(90)" text-anchor="middle">RSS of pid ${r.process.pid} (MiB)</text>`,
    );
    legend.push(['RSS', '#2ca02c']);
  }
  legend.forEach(([name, color], i) => {
    const lx = M.left + PW - 110 * (legend.length - i);
    out.push(
      `<rect x="${lx}" y="${M.top - 16}" width="14" height="4" fill="${color}"/><text x="${lx + 18}" y="${M.top - 11}">${escapeXml(name)}</text>`,
    );
  });
  out.push(`<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#333"/>`, '</svg>');
  return `${out.join('\n')}\n`;
}

export function renderHtml(r: XtestReport): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    `<head><meta charset="utf-8"/><title>${escapeXml(`aiges xtest: ${r.target.service}`)}</title></head>`,
    '<body>',
    `<h1>${escapeXml(`aiges xtest: ${r.target.service}`)}</h1>`,
    renderSvg(r).trim(),
    `<pre>${escapeXml(formatReport(r))}</pre>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Writes the chart; throws XTEST_CHART_UNWRITABLE for a bad name or a failed write. */
export function writeChart(file: string, r: XtestReport): void {
  const text = chartFormatOf(file) === 'svg' ? renderSvg(r) : renderHtml(r);
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new ToolError(XtestCodes.CHART_UNWRITABLE, `cannot write chart ${file}: ${(err as Error).message}`, { cause: err });
  }
}
