/**
 * The HTTP load target: `POST /v1/private/echo` with an AIGes JSON body (one base64 `data`
 * item) over an undici Pool of keep-alive HTTP/1.1 connections, one request in flight on each;
 * over https when `tls` is given.
 */
import { Pool } from 'undici';
import type { ClientTls } from '../../loader/tools/client.js';
import type { Target } from './load.js';

export const ECHO_PATH = '/v1/private/echo';

export function requestBody(payload: Buffer): Buffer {
  const body = {
    header: { status: 3 },
    parameter: { echo: {} },
    payload: { data: { encoding: 'raw', status: 3, data: payload.toString('base64') } },
  };
  return Buffer.from(JSON.stringify(body));
}

interface Reply {
  header?: { code?: unknown; sid?: unknown; status?: unknown };
  payload?: { data?: { encoding?: unknown; status?: unknown; seq?: unknown; data?: unknown } };
}

/** An object's keys in order, joined: the reply shape both servers must share. */
function keysOf(value: object | undefined): string {
  return Object.keys(value ?? {}).join(',');
}

export function httpTarget(port: number, payload: Buffer, connections: number, tls?: ClientTls): Target {
  const pool =
    tls === undefined
      ? new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 })
      : new Pool(`https://127.0.0.1:${port}`, { connections, pipelining: 1, connect: { ...tls } });
  const body = requestBody(payload);
  const options = {
    path: ECHO_PATH,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body,
  };
  /** Byte length of a correct reply, learnt by check(); every later reply must match it. */
  let replyBytes = -1;
  const post = async () => {
    const res = await pool.request(options);
    const bytes = await res.body.arrayBuffer();
    if (res.statusCode !== 200) {
      throw new Error(`HTTP ${res.statusCode}: ${Buffer.from(bytes).toString('utf8').slice(0, 300)}`);
    }
    return bytes;
  };
  return {
    async check() {
      const bytes = await post();
      const reply = JSON.parse(Buffer.from(bytes).toString('utf8')) as Reply;
      const item = reply.payload?.data;
      const ok =
        keysOf(reply.header) === 'code,message,sid,status' &&
        keysOf(item) === 'encoding,status,seq,data' &&
        reply.header?.code === 0 &&
        reply.header.status === 3 &&
        typeof reply.header.sid === 'string' &&
        Object.keys(reply.payload ?? {}).length === 1 &&
        item?.encoding === 'raw' &&
        item.status === 3 &&
        item.seq === 0 &&
        typeof item.data === 'string' &&
        Buffer.from(item.data, 'base64').equals(payload);
      if (!ok) throw new Error(`HTTP echo answered an unexpected body: ${JSON.stringify(reply).slice(0, 300)}`);
      replyBytes = bytes.byteLength;
    },
    async call() {
      const bytes = await post();
      if (bytes.byteLength !== replyBytes) throw new Error(`HTTP echo reply of ${bytes.byteLength} bytes, expected ${replyBytes}`);
    },
    async close() {
      await pool.close();
    },
  };
}
