/**
 * A lean gRPC load target: unary calls of one method, sent as the same pre-encoded request over
 * one node:http2 session, with no gRPC client library in the loop. For the sections where the load
 * generator shares the machine's cores with a loader that can use all of them (worker): grpc-js's
 * client spends several times the CPU of a bare HTTP/2 request per call, and each µs it spends is
 * taken from the loader's threads (BENCHMARKS.md, method of the worker section).
 *
 * A call passes when the response is one length-prefixed message whose bytes are those of the first
 * response (`check()` decodes that one with `decode` and judges it) and its status is OK.
 */
import http2 from 'node:http2';
import { frameMessage, PREFIX_BYTES } from '../../polaris/balancer/h2-grpc.js';
import type { Target } from './load.js';

export interface H2GrpcMethod {
  /** `/package.Service/Method`. */
  path: string;
  /** The request message, encoded. */
  request: Buffer;
  /** Throws when the first response (decoded from its message bytes) is not the one expected. */
  check(message: Buffer): void;
}

/** The one message of a unary response body, or an Error naming what is wrong with the body. */
function unaryMessage(body: Buffer): Buffer | Error {
  if (body.length < PREFIX_BYTES) return new Error(`response body of ${body.length} bytes`);
  if (body[0] !== 0) return new Error('compressed response');
  const length = body.readUInt32BE(1);
  if (body.length !== PREFIX_BYTES + length) return new Error(`response body of ${body.length} bytes for a message of ${length}`);
  return body.subarray(PREFIX_BYTES);
}

export function h2GrpcTarget(port: number, method: H2GrpcMethod): Target {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined); // each call sees its own stream's error
  const headers = { ':method': 'POST', ':path': method.path, 'content-type': 'application/grpc', te: 'trailers' };
  const body = frameMessage(method.request);
  let expected: Buffer | undefined;

  /** One call; resolves with the response message, rejects on a non-OK status or a broken body. */
  const send = () =>
    new Promise<Buffer>((resolve, reject) => {
      const stream = session.request(headers);
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let detail: string | undefined;
      const takeStatus = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) {
          status = String(h['grpc-status']);
          detail = h['grpc-message'] === undefined ? undefined : decodeURIComponent(String(h['grpc-message']));
        }
      };
      stream.on('response', takeStatus); // a trailers-only response carries its status here
      stream.on('trailers', takeStatus);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('close', () => {
        if (status !== '0') {
          reject(new Error(`gRPC status ${status ?? 'missing'}${detail === undefined ? '' : `: ${detail}`}`));
          return;
        }
        const message = unaryMessage(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
        if (message instanceof Error) reject(message);
        else resolve(message);
      });
      stream.end(body);
    });

  return {
    async check() {
      const message = await send();
      method.check(message);
      expected = Buffer.from(message);
    },
    async call() {
      const message = await send();
      if (expected === undefined || !message.equals(expected))
        throw new Error(`${method.path} answered other bytes than the checked response`);
    },
    async close() {
      await new Promise<void>((resolve) => session.close(resolve));
    },
  };
}
