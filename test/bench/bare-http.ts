/**
 * The HTTP baseline: a bare fastify route doing the work the loader's `POST /v1/private/:service`
 * does for an echo, and no more: fastify parses the JSON body, each payload item is
 * base64-decoded to bytes and re-encoded, and the reply has the loader's success shape (a fresh
 * sid included). Same body limit as the loader. Run as a child of run.ts (`node --import tsx`);
 * prints `{"port":N}`.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { bodyLimitOf } from '../../loader/server/http.js';

interface PayloadItem {
  encoding: string;
  status: number;
  seq?: number;
  data: string;
}

interface Body {
  header: { status: number };
  parameter: Record<string, Record<string, unknown>>;
  payload: Record<string, PayloadItem>;
}

/** The loader's default limits.max_message_bytes. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const app = Fastify({ logger: false, bodyLimit: bodyLimitOf(MAX_MESSAGE_BYTES) });

app.post<{ Params: { service: string }; Body: Body }>('/v1/private/:service', async (request) => {
  const payload: Record<string, { encoding: string; status: number; seq: number; data: string }> = {};
  for (const [key, item] of Object.entries(request.body.payload)) {
    const bytes = Buffer.from(item.data, 'base64');
    payload[key] = { encoding: item.encoding, status: item.status, seq: 0, data: bytes.toString('base64') };
  }
  return { header: { code: 0, message: 'success', sid: randomUUID(), status: request.body.header.status }, payload };
});

app.listen({ host: '0.0.0.0', port: 0 }).then(
  () => {
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    process.stdout.write(`${JSON.stringify({ port })}\n`);
  },
  (err: Error) => {
    process.stderr.write(`bare-http: ${err.message}\n`);
    process.exit(1);
  },
);

process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
