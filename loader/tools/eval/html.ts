/**
 * The report as one self-contained HTML page (`aiges eval --html`): inline CSS and SVG, no script
 * and nothing fetched, so it opens from a CI artifact or an e-mail as it is. Classification shows
 * the confusion matrix (cells shaded by their share of the row) and per-class precision / recall /
 * F1 bars; regression and ASR their figures (ASR also the alignment counts as one bar).
 */
import type { ClassificationMetrics } from './classification.js';
import type { EvalReport } from './report.js';
import { failures } from './report.js';
import { escapeXml } from '../xtest/chart.js';

const num = (v: number | null) => (v === null ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(4));

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.ok{color:#1a7f37}.bad{color:#c62828;font-weight:bold}
.cm td{min-width:3em}figure{margin:1em 0}figcaption{color:#555}`;

function table(rows: [string, string][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th class="l">${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`).join('')}</table>`;
}

function confusion(m: ClassificationMetrics): string {
  const { labels, matrix } = m.confusion;
  const head = `<tr><th class="l">label \\ prediction</th>${labels.map((l) => `<th>${escapeXml(l)}</th>`).join('')}</tr>`;
  const body = matrix
    .map((row, i) => {
      const total = row.reduce((s, v) => s + v, 0);
      const cells = row.map((v, k) => {
        const share = total === 0 ? 0 : v / total;
        const hue = i === k ? '26,127,55' : '198,40,40';
        return `<td style="background:rgba(${hue},${(share * 0.8).toFixed(3)})">${v}</td>`;
      });
      return `<tr><th class="l">${escapeXml(labels[i] as string)}</th>${cells.join('')}</tr>`;
    })
    .join('');
  return `<table class="cm">${head}${body}</table>`;
}

/** Grouped horizontal bars: per class, precision, recall and F1 on a 0–1 scale. */
function classBars(m: ClassificationMetrics): string {
  const series = [
    ['precision', '#1f77b4'],
    ['recall', '#ff7f0e'],
    ['f1', '#2ca02c'],
  ] as const;
  const left = 140;
  const width = 400;
  const bar = 12;
  const group = series.length * bar + 14;
  const height = m.classes.length * group + 30;
  const parts: string[] = [];
  m.classes.forEach((c, i) => {
    const y0 = i * group;
    parts.push(`<text x="${left - 6}" y="${y0 + (series.length * bar) / 2 + 4}" text-anchor="end">${escapeXml(c.class)}</text>`);
    series.forEach(([name, color], s) => {
      const v = c[name];
      const y = y0 + s * bar;
      parts.push(
        `<rect x="${left}" y="${y}" width="${(v * width).toFixed(1)}" height="${bar - 2}" fill="${color}"><title>${escapeXml(c.class)} ${name} ${num(v)}</title></rect>`,
        `<text x="${left + v * width + 4}" y="${y + bar - 3}" font-size="10">${num(v)}</text>`,
      );
    });
  });
  const legendY = m.classes.length * group + 14;
  series.forEach(([name, color], s) => {
    parts.push(
      `<rect x="${left + s * 100}" y="${legendY - 9}" width="10" height="10" fill="${color}"/>`,
      `<text x="${left + s * 100 + 14}" y="${legendY}">${name}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 60}" height="${height}" font-size="12">${parts.join('')}</svg>`;
}

/** One bar split into hits, substitutions, deletions and insertions. */
function alignmentBar(e: { hits: number; substitutions: number; deletions: number; insertions: number }): string {
  const parts = [
    ['hits', e.hits, '#2ca02c'],
    ['substitutions', e.substitutions, '#d62728'],
    ['deletions', e.deletions, '#ff7f0e'],
    ['insertions', e.insertions, '#9467bd'],
  ] as const;
  const total = parts.reduce((s, [, v]) => s + v, 0) || 1;
  let x = 0;
  const rects = parts.map(([name, v, color]) => {
    const w = (v / total) * 500;
    const r = `<rect x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="18" fill="${color}"><title>${name} ${v}</title></rect>`;
    x += w;
    return r;
  });
  const legend = parts.map(
    ([name, v, color], i) =>
      `<rect x="${i * 125}" y="26" width="10" height="10" fill="${color}"/><text x="${i * 125 + 14}" y="35">${name} ${v}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="510" height="42" font-size="12">${rects.join('')}${legend.join('')}</svg>`;
}

function metricsSection(r: EvalReport): string {
  const m = r.metrics;
  switch (m.task) {
    case 'classification':
      return (
        table([
          ['accuracy', `${num(m.accuracy)} (${m.correct} of ${m.count})`],
          ['macro precision / recall / F1', `${num(m.macro.precision)} / ${num(m.macro.recall)} / ${num(m.macro.f1)}`],
          ['weighted precision / recall / F1', `${num(m.weighted.precision)} / ${num(m.weighted.recall)} / ${num(m.weighted.f1)}`],
        ]) +
        `<h2>Per class</h2><table><tr><th class="l">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th><th>predicted</th></tr>${m.classes
          .map(
            (c) =>
              `<tr><td class="l">${escapeXml(c.class)}</td><td>${num(c.precision)}</td><td>${num(c.recall)}</td><td>${num(c.f1)}</td><td>${c.support}</td><td>${c.predicted}</td></tr>`,
          )
          .join('')}</table><figure>${classBars(m)}<figcaption>precision, recall and F1 per class</figcaption></figure>` +
        `<h2>Confusion matrix</h2>${confusion(m)}`
      );
    case 'regression':
      return table([
        ['items', String(m.count)],
        ['MAE', num(m.mae)],
        ['RMSE', num(m.rmse)],
        ['MSE', num(m.mse)],
        ['R²', m.r2 === null ? '– (every label is the same)' : num(m.r2)],
      ]);
    case 'asr':
      return (
        table([
          ['utterances', String(m.count)],
          ['WER', `${num(m.wer.rate)} (${m.wer.reference} reference words)`],
          ['CER', `${num(m.cer.rate)} (${m.cer.reference} reference characters)`],
          ['exact', `${m.exact} of ${m.count}`],
        ]) +
        `<h2>Word alignment</h2><figure>${alignmentBar(m.wer)}</figure><h2>Character alignment</h2><figure>${alignmentBar(m.cer)}</figure>`
      );
  }
}

export function evalHtml(r: EvalReport): string {
  const missing = (label: string, m: { count: number; ids: string[] }) =>
    [label, m.count === 0 ? '0' : `${m.count}: ${m.ids.join(', ')}${m.count > m.ids.length ? ', …' : ''}`] as [string, string];
  const thresholds =
    r.thresholds.length === 0
      ? ''
      : `<h2>Thresholds</h2><table>${r.thresholds
          .map(
            (t) =>
              `<tr><th class="l">${escapeXml(`${t.metric} ${t.op} ${t.value}`)}</th><td>${num(t.actual)}</td><td class="${t.passed ? 'ok' : 'bad'}">${t.passed ? 'ok' : 'FAILED'}</td></tr>`,
          )
          .join('')}</table>`;
  const why = failures(r);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aiges eval: ${escapeXml(r.task)}</title><style>${STYLE}</style></head>
<body><h1>aiges eval: ${escapeXml(r.task)} <span class="${r.passed ? 'ok' : 'bad'}">${r.passed ? 'passed' : 'FAILED'}</span></h1>
${why.length === 0 ? '' : `<ul>${why.map((l) => `<li class="bad">${escapeXml(l)}</li>`).join('')}</ul>`}
${table([['predictions', r.pred], ['labels', r.labels], ['matched ids', String(r.matched)], missing('labelled, no prediction', r.missing.noPrediction), missing('predicted, no label', r.missing.noLabel)])}
${metricsSection(r)}
${thresholds}
</body></html>
`;
}
