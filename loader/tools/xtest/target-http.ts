/**
 * The HTTP target: AIGes's JSON route `POST <url>/v1/private/<service>` over an undici Pool of
 * keep-alive connections, one per worker. Once mode sends header.status 3; a session is a run of
 * requests sharing a sid: status 0 with the first frame, 1 with each next frame, 2 with the last
 * (a one-frame session sends its frame with 0, then an empty 2 unless the answer already ended
 * the session). The timeout goes in the
 * `aiges-timeout-ms` header (of each once call; of the whole session on its opening request).
 * With credentials, each request is signed (AK/SK), its path carrying a fresh `nonce` query.
 */
import { Pool } from 'undici';
import { DATA_FIELDS, TYPE_BY_FIELD } from '../../server/http-convert.js';
import type { DataType } from '../../../plugins/types.js';
import { TIMEOUT_HEADER } from '../../server/http-private.js';
import { newNonce, signRequest } from '../../../plugins/aksk.js';
import { DataStatus } from '../../../plugins/types.js';
import type { InputItem } from '../inputs.js';
import { transportFailure, type CallOutcome, type OutputItem, type Target, type TargetOptions } from './target.js';

interface ReplyBody {
  header?: { code?: unknown; message?: unknown; sid?: unknown; status?: unknown };
  payload?: Record<string, unknown>;
}

/** The answer to one request: the parsed body, or the outcome of a failure. */
type Exchange = { ok: true; body: ReplyBody } | { ok: false; outcome: CallOutcome };

function payloadOf(items: readonly InputItem[]): Record<string, Record<string, string | number>> {
  const payload: Record<string, Record<string, string | number>> = {};
  for (const item of items) {
    payload[item.key] = {
      ...item.attributes,
      encoding: item.encoding,
      status: item.status,
      [DATA_FIELDS[item.type]]: item.data.toString('base64'),
    };
  }
  return payload;
}

/** An answer's payload as items: each entry's data field (text, audio, …) base64-decoded. */
function outputsOf(payload: Record<string, unknown> | undefined): OutputItem[] {
  const items: OutputItem[] = [];
  for (const [key, value] of Object.entries(payload ?? {})) {
    if (typeof value !== 'object' || value === null) continue;
    const entry = value as Record<string, unknown>;
    const field = Object.keys(entry).find((f) => TYPE_BY_FIELD.has(f));
    if (field === undefined) continue;
    const encoding = typeof entry['encoding'] === 'string' ? entry['encoding'] : '';
    items.push({ key, type: TYPE_BY_FIELD.get(field) as DataType, encoding, data: Buffer.from(String(entry[field]), 'base64') });
  }
  return items;
}

/** The base URL's origin and the route's path under it (a base path prefix is kept). */
function routeOf(url: string, service: string): { origin: string; path: string } {
  const base = new URL(url);
  const prefix = base.pathname.replace(/\/+$/, '');
  return { origin: base.origin, path: `${prefix}/v1/private/${encodeURIComponent(service)}` };
}

export function httpTarget(url: string, options: TargetOptions): Target {
  const { service, params, timeoutMs, credentials } = options;
  const { origin, path } = routeOf(url, service);
  const host = new URL(origin).host;
  // No client-side time limits (undici's default is 300 s): the deadline is the loader's, set
  // by the timeout header or its default, so that a slow call is reported by its aiges-code.
  const pool = new Pool(origin, {
    connections: options.concurrency,
    pipelining: 1,
    headersTimeout: 0,
    bodyTimeout: 0,
    // https://: the CA to trust and the client certificate of the TLS files (client-tls.ts).
    ...(options.tls === undefined ? {} : { connect: { ...options.tls } }),
  });
  const timeoutHeader = timeoutMs === undefined ? {} : { [TIMEOUT_HEADER]: String(timeoutMs) };

  const post = async (
    header: Record<string, unknown>,
    items: readonly InputItem[],
    timed: boolean,
    callParams = params,
  ): Promise<Exchange> => {
    const body = JSON.stringify({ header, parameter: { [service]: callParams }, payload: payloadOf(items) });
    // A signed request carries a nonce in its query: calls alike within one second are still distinct.
    const target = credentials === undefined ? path : `${path}?nonce=${newNonce()}`;
    const signature = credentials === undefined ? {} : signRequest(credentials, { method: 'POST', pathAndQuery: target, host, body });
    try {
      const res = await pool.request({
        path: target,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(timed ? timeoutHeader : {}), ...signature },
        body,
      });
      const text = await res.body.text();
      let reply: ReplyBody = {};
      try {
        reply = JSON.parse(text) as ReplyBody;
      } catch {
        // Not the loader's JSON (a proxy's error page): judged by the HTTP status below.
      }
      const code = res.headers['aiges-code'] ?? (reply.header?.code === 0 ? undefined : reply.header?.code);
      if (res.statusCode === 200 && code === undefined) return { ok: true, body: reply };
      const message = typeof reply.header?.message === 'string' ? reply.header.message : text.slice(0, 200);
      return { ok: false, outcome: { ok: false, code: code === undefined ? `http:${res.statusCode}` : String(code), message } };
    } catch (err) {
      return { ok: false, outcome: transportFailure(err, 'net', (err as { code?: string }).code) };
    }
  };

  return {
    async once(items, callParams) {
      const r = await post({ status: DataStatus.ONCE }, items, true, callParams);
      if (!r.ok) return r.outcome;
      return options.outputs === true ? { ok: true, outputs: outputsOf(r.body.payload) } : { ok: true };
    },

    async session(frames, pause) {
      const t0 = performance.now();
      // A one-frame session still needs an opening and an ending request.
      const steps = frames.length === 1 ? [frames[0] as InputItem[], []] : frames;
      let sid: string | undefined;
      let firstAt: number | undefined;
      let lastSentAt = t0;
      for (let k = 0; k < steps.length; k++) {
        if (k > 0 && k < frames.length) await pause();
        const status = k === 0 ? DataStatus.BEGIN : k === steps.length - 1 ? DataStatus.END : DataStatus.CONTINUE;
        if (k === frames.length - 1) lastSentAt = performance.now();
        const r = await post({ status, ...(sid === undefined ? {} : { sid }) }, steps[k] as InputItem[], k === 0);
        if (!r.ok) return r.outcome;
        const now = performance.now();
        if (typeof r.body.header?.sid === 'string') sid ??= r.body.header.sid;
        // An answer with status 2 ends the session, also before the last step (the plugin may end
        // it early, or on an input item whose status is END).
        const ended = r.body.header?.status === DataStatus.END || k === steps.length - 1;
        if (firstAt === undefined && (Object.keys(r.body.payload ?? {}).length > 0 || ended)) firstAt = now;
        if (ended) return { ok: true, firstResultMs: (firstAt ?? now) - t0, lastResultMs: now - lastSentAt };
      }
      throw new Error('unreachable: a session has at least one step');
    },

    async close() {
      await pool.close();
    },
  };
}
