/**
 * gRPC deadlines: the client's reaches the data plane whatever its length (grpc-js's server
 * keeps it in a 32-bit int: past about 24.8 days it failed at once or wrapped shorter), and a
 * request that never arrives whole is answered at the deadline (a backstop past it), where
 * grpc-js alone held it for good.
 */
import { connect, type IncomingHttpHeaders } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer } from '../../loader/tools/client.js';
import { BACKSTOP_GRACE_MS, DEADLINE_HEADER, guardDeadline } from '../../loader/server/grpc-deadline.js';
import { FIXTURES, serve, textItem, type Served } from './grpc-helpers.js';

const DAY = 86_400_000;
const NOW = 1_000_000;
const DEFAULTS = { default_deadline_ms: 30_000, session_deadline_ms: 600_000 };
const INFER = '/aiges.v1.Loader/Infer';
const SESSION = '/aiges.v1.Loader/Session';
const STREAM_INFER = '/inference.GRPCInferenceService/ModelStreamInfer';

function guarded(path: string, timeout: string | undefined, extra: IncomingHttpHeaders = {}, defaults = DEFAULTS) {
  const headers: IncomingHttpHeaders = { ':path': path, ...extra, ...(timeout === undefined ? {} : { 'grpc-timeout': timeout }) };
  guardDeadline(headers, defaults, NOW);
  return { timeout: headers['grpc-timeout'], deadline: headers[DEADLINE_HEADER] };
}

describe('guardDeadline', () => {
  it.each([
    // [path, grpc-timeout, backstop grpc-timeout, deadline passed on]
    [INFER, undefined, `${30_000 + BACKSTOP_GRACE_MS}m`, undefined],
    [SESSION, undefined, `${600_000 + BACKSTOP_GRACE_MS}m`, undefined],
    [INFER, '100m', '200m', String(NOW + 100)],
    [INFER, '2S', `${2_000 + 2_000}m`, String(NOW + 2_000)],
    [INFER, '2592000S', '2147483S', String(NOW + 30 * DAY)], // 30 days: the backstop at the int32 limit
    [SESSION, '99999999H', '2147483S', String(NOW + 99_999_999 * 3_600_000)],
    [INFER, 'soon', 'soon', undefined], // not grpc-js's form: left for it to refuse
    ['/aiges.v1.Loader/Relay', '2592000S', '2147483S', undefined], // other methods: clamped only
    ['/aiges.v1.Loader/Relay', '5S', '5S', undefined],
    ['/aiges.v1.Loader/WatchLoad', undefined, undefined, undefined],
    [STREAM_INFER, undefined, undefined, undefined], // no default: each call on the stream has its own
    [STREAM_INFER, '100m', '200m', String(NOW + 100)],
  ])('%s with grpc-timeout %s → %s, deadline %s', (path, timeout, backstop, deadline) => {
    expect(guarded(path, timeout)).toEqual({ timeout: backstop, deadline });
  });

  it("drops an aiges-deadline the client sent, and clamps only for a server that is not a loader's", () => {
    expect(guarded(INFER, undefined, { [DEADLINE_HEADER]: '1' }).deadline).toBeUndefined();
    const headers: IncomingHttpHeaders = { ':path': INFER, 'grpc-timeout': '2592000S' };
    guardDeadline(headers, undefined, NOW);
    expect(headers).toEqual({ ':path': INFER, 'grpc-timeout': '2147483S' });
  });
});

describe('a call with a deadline of weeks', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({ plugin: { path: `${FIXTURES}/deadline.ts` } });
  });
  afterAll(async () => {
    await served.close();
  });

  // 30 days: grpc-js's server read it as negative and failed the call at once; 60 days: it
  // wrapped to about 10 days.
  it.each([30, 60, 1 / (24 * 60)])('%d days: answered, under the deadline the client set', async (days) => {
    const before = Date.now();
    const res = await infer(served.client, { service: 'deadline', items: [textItem('x')] }, days * DAY);
    const deadline = Number(res.items[0]?.data.toString());
    expect(deadline).toBeGreaterThanOrEqual(before + days * DAY - 1_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + days * DAY);
  });
});

describe('a request that never arrives whole', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({ limits: { default_deadline_ms: 300, session_deadline_ms: 300 } });
  });
  afterAll(async () => {
    await served.close();
  });

  /** Sends a length prefix promising 1 MiB and 10 bytes of it, then nothing; resolves with the answer's grpc-status. */
  function stall(path: string): Promise<string> {
    const session = connect(`http://${served.address}`);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(1024 * 1024, 1);
    stream.write(Buffer.concat([prefix, Buffer.alloc(10)]));
    stream.resume();
    return new Promise<string>((resolve, reject) => {
      // The answer is trailers-only (headers with grpc-status) or headers then trailers.
      const note = (headers: IncomingHttpHeaders) => {
        const status = headers['grpc-status'];
        if (typeof status === 'string') resolve(status);
      };
      stream.on('response', note);
      stream.on('trailers', note);
      stream.on('error', reject);
    }).finally(() => {
      stream.close();
      session.close();
    });
  }

  it.each([INFER, SESSION])('%s: answered DEADLINE_EXCEEDED past the default deadline', async (path) => {
    expect(await stall(path)).toBe('4'); // DEADLINE_EXCEEDED
    expect(served.loader.dataplane.admission.inUse).toBe(0);
  });
});
