/**
 * Services → instances: each service with its call figures (calls/s, errors by code, p50/p99 over
 * the kept window, and a chart of the last minutes) and its instances with their registration,
 * uptime, state (and why not ready) and live load.
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { ago, ms } from './api.js';

function Chart({ points }) {
  const box = useRef(null);
  const plot = useRef(null);
  const data = [points.map((p) => p.t / 1000), points.map((p) => p.callsPerS), points.map((p) => (p.p99 === null ? null : p.p99 * 1000))];
  useEffect(() => {
    plot.current = new uPlot(
      {
        width: 560,
        height: 160,
        series: [
          {},
          { label: 'calls/s', stroke: '#2563eb', scale: 'calls' },
          { label: 'p99 ms', stroke: '#dc2626', scale: 'ms', spanGaps: true },
        ],
        axes: [{}, { scale: 'calls', label: 'calls/s' }, { scale: 'ms', side: 1, label: 'p99 ms', grid: { show: false } }],
      },
      data,
      box.current,
    );
    return () => plot.current.destroy();
  }, []);
  useEffect(() => plot.current?.setData(data), [points]);
  return html`<div class="chart" ref=${box}></div>`;
}

const period = (seconds) => (seconds < 120 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`);

function Figures({ service, figures }) {
  const s = figures?.summary;
  const last = figures?.points.at(-1);
  const errors = Object.entries(s?.errors ?? {});
  return html`<div class="figures" data-testid=${`figures-${service}`}>
    <dl>
      <dt>calls/s now</dt><dd data-testid="calls-now">${last === undefined ? '–' : last.callsPerS.toFixed(1)}</dd>
      <dt>p50</dt><dd data-testid="p50">${ms(s?.p50)}</dd>
      <dt>p99</dt><dd data-testid="p99">${ms(s?.p99)}</dd>
      <dt>calls, last ${period(s?.windowS ?? 0)}</dt><dd data-testid="calls-window">${s?.calls ?? 0}</dd>
      <dt>errors</dt>
      <dd data-testid="errors">${errors.length === 0 ? 'none' : errors.map(([code, n]) => html`<span class="code">${code}×${n}</span> `)}</dd>
    </dl>
    ${figures !== undefined && html`<${Chart} points=${figures.points} />`}
  </div>`;
}

function State({ instance }) {
  if (instance.state === 'ready') return html`<span class="state ready">ready</span>`;
  if (instance.state === 'unreachable') return html`<span class="state down">unreachable</span>`;
  const draining = instance.reasons.includes('draining');
  return html`<span class=${draining ? 'state draining' : 'state notready'}>${draining ? 'draining' : 'not ready'}</span>
    ${instance.reasons.filter((r) => r !== 'draining').map((r) => html`<div class="reason">${r}</div>`)}`;
}

function Load({ load }) {
  if (load === null) return html`<span class="muted">?</span>`;
  const used = load.inflight + load.sessions;
  const pct = load.capacity === 0 ? 0 : Math.min(100, (100 * used) / load.capacity);
  return html`<div class="load">
    <span data-testid="inflight">${load.inflight}</span> in flight · <span data-testid="sessions">${load.sessions}</span> sessions${' · '}
    <span data-testid="capacity">${load.capacity}</span> capacity
    <div class="bar"><div style=${`width:${pct}%`}></div></div>
  </div>`;
}

export function ServicesView({ fleet, metrics }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const byService = new Map();
  for (const i of fleet.instances) byService.set(i.service, [...(byService.get(i.service) ?? []), i]);
  if (byService.size === 0) return html`<p class="muted" data-testid="no-instances">no live instances</p>`;
  return html`${[...byService].map(
    ([service, instances]) => html`<section class="service" data-testid=${`service-${service}`}>
      <h2>${service} <span class="muted">${instances.length} instance${instances.length === 1 ? '' : 's'}</span></h2>
      <${Figures} service=${service} figures=${metrics[service]} />
      <table>
        <thead>
          <tr><th>instance</th><th>version</th><th>address</th><th>labels</th><th>uptime</th><th>state</th><th>load</th></tr>
        </thead>
        <tbody>
          ${instances.map(
            (i) => html`<tr data-testid="instance" data-id=${i.id}>
              <td class="mono">${i.id}</td>
              <td>${i.version}</td>
              <td class="mono">${i.address}<div class="muted">http ${i.httpAddress}${i.tls ? ' · tls' : ''}</div></td>
              <td>${Object.entries(i.labels).map(([k, v]) => html`<span class="label">${k}=${v}</span> `)}</td>
              <td>${ago(i.startedAt, now)}</td>
              <td data-testid="state"><${State} instance=${i} /></td>
              <td><${Load} load=${i.load} /></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>`,
  )}`;
}
