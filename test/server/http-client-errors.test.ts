/**
 * What Node's HTTP parser refuses before any route runs, and requests that never arrive whole:
 * answered in the loader's error shape with `aiges-code`, nothing of the request repeated, the
 * connection closed, the loader serving on.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { b64, call, startLoader } from './http-helpers.js';

let loader: Loader;
beforeAll(async () => {
  loader = await startLoader({ server: { request_timeout_ms: 400 } });
});
afterAll(async () => {
  await loader.stop();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
  /** The whole answer as sent. */
  text: string;
}

/** Writes `chunks` on a fresh connection (the last one left open) and reads until the server closes it. */
function raw(...chunks: string[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(loader.httpPort, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [status = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(status.split(' ')[1]), headers, body: body === '' ? undefined : JSON.parse(body), text });
    });
    for (const chunk of chunks) socket.write(chunk);
  });
}

function expectAnswer(answer: RawAnswer, status: number, code: number): string {
  expect(answer.status).toBe(status);
  expect(answer.headers['aiges-code']).toBe(String(code));
  expect(answer.headers['connection']).toBe('close');
  expect(answer.body.header).toMatchObject({ code, sid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  return answer.body.header.message as string;
}

const long = (n: number, c = 'x') => c.repeat(n);

describe('requests Node refuses before any route', () => {
  it('headers larger than Node reads → 431 / 10209, the header not repeated', async () => {
    const answer = await raw(`GET /v2/health/live HTTP/1.1\r\nhost: x\r\nx-big: ${long(20_000, 'q')}\r\n\r\n`);
    expect(expectAnswer(answer, 431, 10209)).toBe('the request line and headers are larger than 16384 bytes');
    expect(answer.text).not.toContain('qqqq');
  });

  it('a URL larger than that → 431 / 10209, the URL not repeated', async () => {
    const answer = await raw(`POST /v1/private/${long(20_000, 'u')} HTTP/1.1\r\nhost: x\r\n\r\n`);
    expectAnswer(answer, 431, 10209);
    expect(answer.text).not.toContain('uuuu');
  });

  it('thousands of headers → 431 / 10209', async () => {
    const headers = Array.from({ length: 3000 }, (_, i) => `x-h${i}: 1\r\n`).join('');
    expectAnswer(await raw(`GET /v2/health/live HTTP/1.1\r\nhost: x\r\n${headers}\r\n`), 431, 10209);
  });

  it('a request line that is not HTTP → 400 / 10009', async () => {
    expect(expectAnswer(await raw('HELLO THERE\r\n\r\n'), 400, 10009)).toBe('malformed HTTP request');
  });

  it("an HTTP/1.1 request without host → 400 / 10009 in the same shape (not Node's bare 400); HTTP/1.0 needs none", async () => {
    const answer = await raw('GET /v2/health/live HTTP/1.1\r\nconnection: close\r\n\r\n');
    expect(expectAnswer(answer, 400, 10009)).toBe('missing host header (HTTP/1.1 requires one)');
    const old = await raw('GET /v2/health/live HTTP/1.0\r\n\r\n');
    expect(old.status).toBe(200);
    expect(old.body).toEqual({ live: true });
  });
});

describe('server.request_timeout_ms', () => {
  it('a body that stops coming (1 byte of a promised 100,000) → 408 / 10210', async () => {
    const head = 'POST /v1/private/echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n';
    const message = expectAnswer(await raw(head, '{'), 408, 10210);
    expect(message).toBe('the request did not arrive whole within 400 ms');
    expect(loader.dataplane.admission.inUse).toBe(0);
  });

  it('headers that stop coming → 408 / 10210', async () => {
    expectAnswer(await raw('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n'), 408, 10210);
  });

  it('the loader serves on after each of them', async () => {
    const res = await call(loader, { payload: { text: { text: b64('still here') } } });
    expect(res.status).toBe(200);
  });
});
