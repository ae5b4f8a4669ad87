/**
 * The page's calls to the console's API: JSON in and out, the session cookie sent by the browser.
 * A refusal rejects with an Error carrying the server's `code` (errors.ts), `status` and any extra
 * fields (a config error's `line`).
 */
export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.message ?? `${method} ${path}: ${res.status}`);
    Object.assign(err, data, { status: res.status });
    throw err;
  }
  return data;
}

export const ago = (iso, now) => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
};

export const ms = (seconds) => (seconds === null || seconds === undefined ? '–' : `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)} ms`);
