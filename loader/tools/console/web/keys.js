/**
 * Access keys in polaris (as `aiges keys`): the list without secrets, create (the secret is shown
 * this once) and revoke.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';

export function KeysView({ operator }) {
  const [keys, setKeys] = useState([]);
  const [form, setForm] = useState({ services: '', rate: '', note: '' });
  const [created, setCreated] = useState(undefined);
  const [error, setError] = useState('');
  const refresh = () => api('GET', '/api/keys').then(setKeys, (err) => setError(err.message));
  useEffect(() => {
    void refresh();
  }, []);
  const create = async (e) => {
    e.preventDefault();
    setError('');
    try {
      setCreated(await api('POST', '/api/keys', form));
    } catch (err) {
      setError(`[${err.code}] ${err.message}`);
    }
    await refresh();
  };
  const revoke = async (accessKey) => {
    setError('');
    try {
      await api('DELETE', `/api/keys/${encodeURIComponent(accessKey)}`);
    } catch (err) {
      setError(`[${err.code}] ${err.message}`);
    }
    await refresh();
  };
  const field = (name) => (e) => setForm({ ...form, [name]: e.target.value });
  return html`<div class="keys">
    <form class="row" onSubmit=${create}>
      <label>Services <input data-testid="key-services" placeholder="every service" value=${form.services} onInput=${field('services')} /></label>
      <label>Rate/s <input data-testid="key-rate" size="5" value=${form.rate} onInput=${field('rate')} /></label>
      <label>Note <input data-testid="key-note" value=${form.note} onInput=${field('note')} /></label>
      <button type="submit" data-testid="key-create" disabled=${!operator}>Create key</button>
    </form>
    ${error && html`<p class="error" data-testid="key-error">${error}</p>`}
    ${
      created &&
      html`<div class="secret" data-testid="key-secret">
      <strong>Shown this once: store the secret key now.</strong>
      <div class="mono">access key <span data-testid="created-ak">${created.accessKey}</span></div>
      <div class="mono">secret key <span data-testid="created-sk">${created.secretKey}</span></div>
      <button class="small" onClick=${() => setCreated(undefined)}>done</button>
    </div>`
    }
    <table data-testid="keys">
      <thead><tr><th>access key</th><th>services</th><th>rate</th><th>burst</th><th>relay</th><th>created</th><th>note</th><th></th></tr></thead>
      <tbody>
        ${keys.map(
          (k) => html`<tr data-testid="key" data-ak=${k.accessKey}>
            <td class="mono">${k.accessKey}</td>
            <td>${k.services?.join(',') ?? '*'}</td>
            <td>${k.rate ?? '–'}</td>
            <td>${k.burst ?? '–'}</td>
            <td>${k.relay ? 'yes' : '–'}</td>
            <td>${k.createdAt.replace('T', ' ').slice(0, 19)}</td>
            <td>${k.note}</td>
            <td><button class="small" data-testid="revoke" disabled=${!operator} onClick=${() => revoke(k.accessKey)}>revoke</button></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
