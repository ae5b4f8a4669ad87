/**
 * H2Link against a real HTTP/2 server on port 0: streams share one connection, and large once calls
 * ("bulk") get a second one, so that their DATA frames never hold small calls back on one TCP stream.
 */
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { H2Link } from '../../../polaris/balancer/link.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function server(): Promise<{ port: number; sessions: () => number }> {
  let sessions = 0;
  const s = http2.createServer();
  s.on('session', () => sessions++);
  s.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => s.close(resolve)));
  return { port: (s.address() as { port: number }).port, sessions: () => sessions };
}

function answered(link: H2Link, bulk: boolean): Promise<string> {
  const stream = link.request({ ':method': 'POST', ':path': '/x' }, bulk);
  stream.end();
  let body = '';
  stream.on('data', (c: Buffer) => (body += c.toString()));
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(body));
    stream.on('error', reject);
  });
}

describe('H2Link', () => {
  it('carries calls on one connection, and large ones on a second (bulk) connection', async () => {
    const { port, sessions } = await server();
    const link = new H2Link(`127.0.0.1:${port}`, false);
    closers.push(() => link.close());
    expect(await Promise.all([answered(link, false), answered(link, false)])).toEqual(['ok', 'ok']);
    expect(sessions()).toBe(1);
    expect(await Promise.all([answered(link, true), answered(link, true)])).toEqual(['ok', 'ok']);
    expect(sessions()).toBe(2);
    expect(await answered(link, false)).toBe('ok');
    expect(sessions()).toBe(2);
    expect(link.streamedCalls).toBe(5);
  });
});
