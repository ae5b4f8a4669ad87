/**
 * The gRPC load target: unary aiges.v1.Loader/Infer calls carrying one `data` item, all over one
 * channel (one HTTP/2 connection), with the project's own client (loader/tools/client.ts); over
 * TLS (grpcs://) when `tls` is given.
 */
import { type AkSkCredentials, type ClientTls, createLoaderClient, infer, type InferRequest } from '../../loader/tools/client.js';
import type { Target } from './load.js';

const OTHER = 4;
const ONCE = 3;

export function grpcTarget(port: number, payload: Buffer, tls?: ClientTls, credentials?: AkSkCredentials): Target {
  const client = createLoaderClient(`${tls === undefined ? '' : 'grpcs://'}127.0.0.1:${port}`, {}, tls, credentials);
  const request: InferRequest = {
    service: 'echo',
    params: {},
    headers: {},
    items: [{ key: 'data', type: OTHER, status: ONCE, encoding: 'raw', attributes: {}, data: payload }],
  };
  return {
    async check() {
      const res = await infer(client, request);
      const item = res.items[0];
      if (res.items.length !== 1 || item?.key !== 'data' || !item.data.equals(payload)) {
        throw new Error(`gRPC echo answered ${res.items.length} items, not the one sent`);
      }
    },
    async call() {
      const res = await infer(client, request);
      if (res.items.length !== 1 || res.items[0]?.data.length !== payload.length) {
        throw new Error('gRPC echo answered something other than the item sent');
      }
    },
    async close() {
      client.close();
    },
  };
}
