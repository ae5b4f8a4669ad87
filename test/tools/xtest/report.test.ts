/** Unit tests of the report: its JSON shape, the text summary and the SVG/HTML chart. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { chartFormatOf, renderHtml, renderSvg, writeChart } from '../../../loader/tools/xtest/chart.js';
import { XtestCodes } from '../../../loader/tools/xtest/errors.js';
import { resolveOptions } from '../../../loader/tools/xtest/options.js';
import { buildReport, SCHEMA_VERSION, type XtestReport } from '../../../loader/tools/xtest/report.js';
import { formatReport } from '../../../loader/tools/xtest/report-text.js';
import { Recorder } from '../../../loader/tools/xtest/stats.js';

/** A session-mode report over 2 s: 10 calls, 2 failed with two codes, and two process samples. */
function sampleReport(service = 'echo'): XtestReport {
  const recorder = new Recorder();
  for (let i = 0; i < 8; i++) recorder.record(200 * i + 100, 10 + i, { ok: true, firstResultMs: 2 + i, lastResultMs: 1 + i / 2 });
  recorder.record(1500, 3, { ok: false, code: '10909', message: 'exec failed: boom' });
  recorder.record(1900, 1, { ok: false, code: 'grpc:UNAVAILABLE', message: 'No connection established' });
  const options = resolveOptions({
    target: { protocol: 'grpc', address: '127.0.0.1:5090' },
    service,
    mode: 'session',
    concurrency: 2,
    requests: 10,
    frameBytes: 640,
    frameIntervalMs: 40,
  });
  return buildReport({
    options,
    inputs: { audio: 3 },
    startedAt: new Date('2026-01-02T03:04:05.000Z'),
    elapsedMs: 2000,
    stoppedEarly: false,
    tallies: recorder.finish(2000),
    process: {
      pid: 42,
      samples: [
        { tMs: 0, cpuPercent: null, rssBytes: 100 * 1024 * 1024 },
        { tMs: 2000, cpuPercent: 55.5, rssBytes: 120 * 1024 * 1024 },
      ],
      cpuPercent: { mean: 55.5, max: 55.5 },
      rssBytes: { min: 100 * 1024 * 1024, max: 120 * 1024 * 1024, last: 120 * 1024 * 1024 },
      exited: false,
    },
  });
}

const parser = new XMLParser({ ignoreAttributes: false, preserveOrder: true });

/** The element names of a well-formed XML document, in document order (throws when not well-formed). */
function elementNames(xml: string): string[] {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`not well-formed: ${JSON.stringify(valid.err)}`);
  const names: string[] = [];
  const walk = (nodes: Record<string, unknown>[]) => {
    for (const node of nodes) {
      for (const [name, children] of Object.entries(node)) {
        if (name === ':@' || name === '#text') continue;
        names.push(name);
        walk(children as Record<string, unknown>[]);
      }
    }
  };
  walk(parser.parse(xml) as Record<string, unknown>[]);
  return names;
}

describe('buildReport', () => {
  it('fills the documented fields', () => {
    const r = sampleReport();
    expect(r.schemaVersion).toBe(SCHEMA_VERSION);
    expect(r.target).toEqual({ protocol: 'grpc', address: '127.0.0.1:5090', service: 'echo' });
    expect(r.limit).toEqual({ requests: 10, durationMs: null });
    expect(r.requests).toEqual({ total: 10, succeeded: 8, failed: 2 });
    expect(r.throughput).toEqual({ requestsPerS: 5, succeededPerS: 4 });
    expect(r.errors.map((e) => e.code)).toEqual(['10909', 'grpc:UNAVAILABLE']);
    expect(r.startedAt).toBe('2026-01-02T03:04:05.000Z');
    expect(r.session?.frameBytes).toBe(640);
    expect(r.session?.firstResultMs).toMatchObject({ count: 8, min: 2, max: 9 });
    expect(r.session?.lastResultMs).toMatchObject({ count: 8, min: 1, max: 4.5 });
    expect(r.timeline.bucketMs).toBe(50);
  });
});

describe('formatReport', () => {
  it('prints counts, latencies and the error distribution', () => {
    const text = formatReport(sampleReport());
    expect(text).toContain('aiges xtest: echo over grpc 127.0.0.1:5090, session mode, concurrency 2, 10 requests\n');
    expect(text).toContain('  requests          10 (succeeded 8, failed 2)\n');
    expect(text).toContain('  throughput        5 req/s (4 succeeded/s)\n');
    // Three significant figures at most past 10 ms; HDR precision (0.1%) below.
    expect(text).toContain('  latency ms        min 10.0  p50 13.0  p90 17.0  p95 17.0  p99 17.0  max 17.0  mean 13.5\n');
    expect(text).toMatch(/ {2}first result ms {3}min 2\.000 /);
    expect(text).toContain('    10909                  1  exec failed: boom\n');
    expect(text).toContain('    grpc:UNAVAILABLE       1  No connection established\n');
    expect(text).toContain('  process 42        cpu mean 55.5% max 55.5%, rss min 100.0 max 120.0 last 120.0 MiB\n');
  });
});

describe('chart', () => {
  it('renders a well-formed SVG with the three latency lines, failure bars and RSS', () => {
    const svg = renderSvg(sampleReport());
    const names = elementNames(svg);
    expect(names[0]).toBe('svg');
    expect(names.filter((n) => n === 'path')).toHaveLength(4);
    expect(svg).toContain('<title>1 of 1 failed</title>');
    expect(svg).toContain('RSS of pid 42 (MiB)');
  });

  it('escapes text taken from the run', () => {
    const svg = renderSvg(sampleReport('a<b>&"c\''));
    expect(elementNames(svg)[0]).toBe('svg');
    expect(svg).toContain('a&#60;b&#62;&#38;&#34;c&#39;');
  });

  it('renders an HTML page around the SVG and the text summary', () => {
    const html = renderHtml(sampleReport());
    expect(html.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(elementNames(html.slice('<!DOCTYPE html>\n'.length))).toEqual(expect.arrayContaining(['html', 'head', 'body', 'svg', 'pre']));
    expect(html).toContain('requests          10 (succeeded 8, failed 2)');
  });

  it('writes by extension and refuses others with XTEST_CHART_UNWRITABLE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiges-xtest-chart-'));
    writeChart(join(dir, 'c.svg'), sampleReport());
    expect(readFileSync(join(dir, 'c.svg'), 'utf8').startsWith('<svg')).toBe(true);
    writeChart(join(dir, 'c.HTML'), sampleReport());
    expect(readFileSync(join(dir, 'c.HTML'), 'utf8').startsWith('<!DOCTYPE html>')).toBe(true);
    expect(chartFormatOf('x.htm')).toBe('html');
    expect(() => chartFormatOf('x.png')).toThrow(expect.objectContaining({ code: XtestCodes.CHART_UNWRITABLE }));
    expect(() => writeChart(join(dir, 'missing', 'c.svg'), sampleReport())).toThrow(
      expect.objectContaining({ code: XtestCodes.CHART_UNWRITABLE, message: expect.stringContaining('cannot write chart') }),
    );
  });
});
