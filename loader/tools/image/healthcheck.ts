/**
 * The base images' HEALTHCHECK: `node /opt/aiges/dist/loader/tools/image/healthcheck.js` exits 0 when
 * the loader in this container answers 200 on /v2/health/ready, 1 otherwise (starting, draining,
 * down). It asks 127.0.0.1 on AIGES_SERVER_HTTP_PORT when that is set (the port a container was
 * given through the environment), else 8080, the image's default. node, because every base
 * variant has it and none is promised curl or a shell.
 */
const port = process.env['AIGES_SERVER_HTTP_PORT'] || '8080';

try {
  const res = await fetch(`http://127.0.0.1:${port}/v2/health/ready`, { signal: AbortSignal.timeout(4000) });
  process.exitCode = res.status === 200 ? 0 : 1;
} catch {
  process.exitCode = 1;
}
