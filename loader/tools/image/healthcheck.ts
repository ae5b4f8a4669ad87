/**
 * The base images' HEALTHCHECK: `node /opt/aiges/dist/loader/tools/image/healthcheck.js` exits 0 when
 * the loader in this container answers 200 on /v2/health/ready, 1 otherwise (starting, draining,
 * down). It asks 127.0.0.1 on AIGES_SERVER_HTTP_PORT when that is set (the port a container was
 * given through the environment), else 8080, the image's default. node, because every base
 * variant has it and none is promised curl or a shell.
 *
 * With AIGES_SERVER_TLS_CERT_FILE set (TLS through the environment) it asks over https, without
 * checking the certificate: it probes its own container on loopback, for readiness, not identity.
 * A loader that requires client certificates (client_ca_file) cannot be probed this way.
 */
import { request } from 'node:https';

const port = process.env['AIGES_SERVER_HTTP_PORT'] || '8080';
const TIMEOUT_MS = 4000;

function readyOverTls(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v2/health/ready', rejectUnauthorized: false, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

try {
  const status = process.env['AIGES_SERVER_TLS_CERT_FILE']
    ? await readyOverTls()
    : (await fetch(`http://127.0.0.1:${port}/v2/health/ready`, { signal: AbortSignal.timeout(TIMEOUT_MS) })).status;
  process.exitCode = status === 200 ? 0 : 1;
} catch {
  process.exitCode = 1;
}
