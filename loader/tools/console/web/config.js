/**
 * A service's config: the current version, what each live instance runs and was pointed at, the
 * history with a line diff between any two versions, an editor that pushes a new version (to every
 * instance, or to one: gray release) and shows the server's validation error beside its line, and
 * rollback. The rules are the server's (those of `aiges config`); the page only shows them.
 */
import { diffLines } from 'diff';
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';

const LINE_PX = 20;

function Diff({ from, to }) {
  if (from === undefined || to === undefined) return null;
  const parts = diffLines(from.toml, to.toml);
  return html`<div class="diff" data-testid="diff">
    <div class="muted">version ${from.version} → ${to.version}</div>
    <pre>${parts.map(
      (p) =>
        html`<span class=${p.added ? 'add' : p.removed ? 'del' : ''}>${p.value
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `${p.added ? '+ ' : p.removed ? '- ' : '  '}${l}\n`)
          .join('')}</span>`,
    )}</pre>
  </div>`;
}

/** A textarea with line numbers; `error.line` gets a marker and the message beside it. */
function Editor({ text, setText, error }) {
  const [scroll, setScroll] = useState(0);
  const lines = text.split('\n').length;
  return html`<div class="editor">
    <div class="gutter" style=${`transform:translateY(${-scroll}px)`}>
      ${Array.from({ length: Math.max(lines, 1) }, (_, i) => html`<div class=${error?.line === i + 1 ? 'bad' : ''}>${i + 1}</div>`)}
    </div>
    <textarea
      data-testid="editor"
      spellcheck="false"
      value=${text}
      onInput=${(e) => setText(e.target.value)}
      onScroll=${(e) => setScroll(e.target.scrollTop)}
    ></textarea>
    ${
      error?.line !== undefined &&
      html`<div class="line-error" data-testid="line-error" data-line=${error.line} style=${`top:${(error.line - 1) * LINE_PX + 6 - scroll}px`}>
      ← ${error.message}
    </div>`
    }
  </div>`;
}

export function ConfigView({ services, fleet, operator }) {
  const [service, setService] = useState(services[0] ?? '');
  const [data, setData] = useState(undefined);
  const [text, setText] = useState('');
  const [target, setTarget] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState(undefined);
  const [outcome, setOutcome] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const [pair, setPair] = useState([undefined, undefined]);
  const loadedFor = useRef('');
  const versionCount = useRef(-1);

  const refresh = async () => {
    if (service === '') return;
    const d = await api('GET', `/api/config/${encodeURIComponent(service)}`).catch((err) => ({ error: err.message }));
    setData(d);
    if (d.versions === undefined) return;
    if (loadedFor.current !== service) {
      loadedFor.current = service;
      versionCount.current = -1;
      const current = d.versions.find((v) => v.version === d.current);
      setText(current?.toml ?? '[limits]\n');
    }
    // A new version: diff it against the one before, until the user picks another pair.
    const n = d.versions.length;
    if (versionCount.current !== n) {
      versionCount.current = n;
      setPair([d.versions[n - 2]?.version, d.versions[n - 1]?.version]);
    }
  };
  useEffect(() => {
    if (service === '' && services.length > 0) setService(services[0]);
  }, [services.join(',')]);
  // Read again when the service's membership changes (an instance came or went), not on every load
  // report; after this page's own changes; and on "refresh" (a push made elsewhere).
  const members = fleet.instances
    .filter((i) => i.service === service)
    .map((i) => i.id)
    .join(',');
  useEffect(() => {
    void refresh();
  }, [service, members]);

  const act = async (what) => {
    setBusy(true);
    setError(undefined);
    setOutcome(undefined);
    try {
      setOutcome(await what());
    } catch (err) {
      setError({ message: err.message, code: err.code, line: err.line });
    } finally {
      setBusy(false);
      await refresh();
    }
  };
  const push = () =>
    act(async () => {
      const r = await api('POST', `/api/config/${encodeURIComponent(service)}/push`, {
        toml: text,
        note,
        ...(target === '' ? {} : { instance: target }),
      });
      const v = r.version;
      return {
        text:
          v.state === 'good'
            ? `version ${v.version} now current (${v.instance === undefined ? 'all instances' : `instance ${v.instance}`})`
            : `version ${v.version} ${v.state}${v.failure ? `: ${v.failure}` : ''}`,
        ok: v.state === 'good',
        instances: r.instances,
      };
    });
  const rollback = (version) =>
    act(async () => {
      await api('POST', `/api/config/${encodeURIComponent(service)}/rollback`, { version });
      return { text: `every instance now runs version ${version}`, ok: true, instances: [] };
    });

  const instances = fleet.instances.filter((i) => i.service === service);
  const byVersion = (n) => data?.versions?.find((v) => v.version === n);
  return html`<div class="config">
    <label>Service
      <input list="services" data-testid="config-service" value=${service} onChange=${(e) => {
        loadedFor.current = '';
        setService(e.target.value.trim());
      }} />
      <datalist id="services">${services.map((s) => html`<option value=${s} />`)}</datalist>
    </label>
    ${data?.error && html`<p class="error">${data.error}</p>`}
    ${
      data?.versions !== undefined &&
      html`<section>
        <h2>
          ${service}: current version <span data-testid="current-version">${data.current ?? 'none'}</span>
          <button class="small" data-testid="config-refresh" onClick=${() => refresh()}>refresh</button>
        </h2>
        <table data-testid="config-instances">
          <thead><tr><th>instance</th><th>running</th><th>target</th><th>last try</th></tr></thead>
          <tbody>
            ${data.instances.map(
              (r) => html`<tr data-testid="config-instance" data-id=${r.instance}>
                <td class="mono">${r.instance}</td>
                <td data-testid="running">${r.status === undefined ? '–' : (r.running ?? 'startup config')}</td>
                <td>${r.target ?? '–'}</td>
                <td data-testid="last-try">${
                  r.status === undefined
                    ? 'no report yet'
                    : r.status.ok
                      ? `${r.status.version} applied`
                      : `${r.status.version} failed: ${r.status.error ?? ''}`
                }</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </section>
      <section class="split">
        <div>
          <h3>New version</h3>
          <${Editor} text=${text} setText=${setText} error=${error} />
          ${error !== undefined && html`<p class="error" data-testid="push-error">[${error.code}] ${error.message}</p>`}
          <div class="row">
            <label>Target
              <select data-testid="push-target" value=${target} onChange=${(e) => setTarget(e.target.value)}>
                <option value="">all instances</option>
                ${instances.map((i) => html`<option value=${i.id}>gray: ${i.id}</option>`)}
              </select>
            </label>
            <label>Note <input data-testid="push-note" value=${note} onInput=${(e) => setNote(e.target.value)} /></label>
            <button data-testid="push" disabled=${busy || !operator} title=${operator ? '' : 'read-only'} onClick=${push}>
              ${busy ? 'applying…' : 'Push'}
            </button>
          </div>
          ${
            outcome !== undefined &&
            html`<div class=${outcome.ok ? 'outcome ok' : 'outcome bad'} data-testid="outcome">
            ${outcome.text}
            ${outcome.instances.map((t) => html`<div class="mono">${t.instance}: ${t.result}</div>`)}
          </div>`
          }
        </div>
        <div>
          <h3>History</h3>
          <table data-testid="history">
            <thead><tr><th>diff</th><th>version</th><th>state</th><th>target</th><th>created</th><th>note</th><th></th></tr></thead>
            <tbody>
              ${[...data.versions].reverse().map(
                (v) => html`<tr data-testid="version" data-version=${v.version} class=${v.version === data.current ? 'current' : ''}>
                  <td>
                    <input type="radio" name="from" title="from" checked=${pair[0] === v.version} onChange=${() => setPair([v.version, pair[1]])} />
                    <input type="radio" name="to" title="to" checked=${pair[1] === v.version} onChange=${() => setPair([pair[0], v.version])} />
                  </td>
                  <td>${v.version}${v.version === data.current ? ' *' : ''}</td>
                  <td data-testid="version-state">${v.state ?? 'good'}${v.failure ? `: ${v.failure}` : ''}</td>
                  <td>${v.instance ?? 'all'}</td>
                  <td>${v.createdAt.replace('T', ' ').slice(0, 19)}</td>
                  <td>${v.note}</td>
                  <td>
                    <button class="small" onClick=${() => {
                      setText(v.toml);
                      setError(undefined);
                    }}>edit</button>
                    ${
                      v.state !== 'failed' &&
                      v.state !== 'trial' &&
                      v.version !== data.current &&
                      html`<button class="small" data-testid="rollback" disabled=${busy || !operator} onClick=${() => rollback(v.version)}>roll back</button>`
                    }
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>
          <${Diff} from=${byVersion(pair[0])} to=${byVersion(pair[1])} />
        </div>
      </section>`
    }
  </div>`;
}
