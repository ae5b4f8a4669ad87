/**
 * The console page: login, then three views (services, config, keys) over one server-sent-events
 * stream (`/api/events`: the fleet and the call figures as they change; the page never polls).
 * The role only decides what the page offers; the server refuses a viewer's changes by itself.
 */
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { api } from './api.js';
import { ConfigView } from './config.js';
import { KeysView } from './keys.js';
import { ServicesView } from './services.js';

function Login({ onLogin }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    try {
      const { role } = await api('POST', '/api/login', { token });
      onLogin(role);
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="login" onSubmit=${submit}>
    <h1>aiges console</h1>
    <label>Token <input type="password" name="token" data-testid="token" value=${token} onInput=${(e) => setToken(e.target.value)} autofocus /></label>
    <button type="submit" data-testid="login">Log in</button>
    ${error && html`<p class="error" data-testid="login-error">${error}</p>`}
  </form>`;
}

/** The fleet and the per-service figures, kept current from the event stream. */
function useLive() {
  const [fleet, setFleet] = useState({ instances: [] });
  const [metrics, setMetrics] = useState({});
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const events = new EventSource('/api/events');
    events.onopen = () => setConnected(true);
    events.onerror = () => setConnected(false);
    events.addEventListener('fleet', (e) => setFleet(JSON.parse(e.data)));
    events.addEventListener('metrics', (e) => {
      const { service, points, summary } = JSON.parse(e.data);
      setMetrics((m) => ({ ...m, [service]: { points, summary } }));
    });
    events.addEventListener('point', (e) => {
      const { service, point, summary } = JSON.parse(e.data);
      setMetrics((m) => {
        const kept = (m[service]?.points ?? []).filter((p) => p.t >= point.t - 10 * 60_000);
        return { ...m, [service]: { points: [...kept, point], summary } };
      });
    });
    return () => events.close();
  }, []);
  return { fleet, metrics, connected };
}

function Console({ me, onLogout }) {
  const [view, setView] = useState(location.hash.slice(1) || 'services');
  const live = useLive();
  const go = (v) => {
    location.hash = v;
    setView(v);
  };
  const operator = me.role === 'operator';
  const services = [...new Set(live.fleet.instances.map((i) => i.service))].sort();
  return html`<header>
      <h1>aiges console</h1>
      <nav>
        ${['services', 'config', 'keys'].map(
          (v) => html`<button class=${view === v ? 'tab active' : 'tab'} data-testid=${`tab-${v}`} onClick=${() => go(v)}>${v}</button>`,
        )}
      </nav>
      <span class=${live.connected ? 'live on' : 'live'} data-testid="live">${live.connected ? 'live' : 'reconnecting'}</span>
      <span class="role" data-testid="role">${operator ? 'operator' : 'read-only'}</span>
      ${!me.anonymous || me.role === 'operator' ? html`<button class="link" onClick=${onLogout}>log out</button>` : null}
      ${me.anonymous && me.role !== 'operator' ? html`<button class="link" data-testid="show-login" onClick=${() => onLogout('login')}>log in</button>` : null}
    </header>
    ${live.fleet.error && html`<p class="error">${live.fleet.error}</p>`}
    <main>
      ${view === 'services' && html`<${ServicesView} fleet=${live.fleet} metrics=${live.metrics} />`}
      ${view === 'config' && html`<${ConfigView} services=${services} fleet=${live.fleet} operator=${operator} />`}
      ${view === 'keys' && html`<${KeysView} operator=${operator} />`}
    </main>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  const [forceLogin, setForceLogin] = useState(false);
  useEffect(() => {
    api('GET', '/api/me').then(setMe, () => setMe({ role: null }));
  }, []);
  if (me === undefined) return null;
  if (me.role === null || forceLogin) {
    return html`<${Login}
      onLogin=${(role) => {
        setForceLogin(false);
        setMe({ ...me, role });
      }}
    />`;
  }
  const logout = async (then) => {
    if (then === 'login') return setForceLogin(true);
    const { role } = await api('POST', '/api/logout', {});
    setMe({ ...me, role });
  };
  return html`<${Console} me=${me} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app'));
