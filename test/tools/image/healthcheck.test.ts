/** The base images' HEALTHCHECK script against a real loader: 0 while ready, 1 when nothing answers. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServe } from '../../cli/serve-process.js';
import { freePort } from './store.js';

const SCRIPT = join(ROOT, 'dist', 'loader', 'tools', 'image', 'healthcheck.js');
const check = (env: Record<string, string>) =>
  spawnSync(process.execPath, [SCRIPT], { env: { PATH: process.env['PATH'] ?? '', ...env } }).status;

let loader: Awaited<ReturnType<typeof startServe>>;
beforeAll(async () => {
  loader = await startServe(['demo/echo']);
});
afterAll(async () => {
  loader.proc.kill('SIGTERM');
  await loader.exited;
});

describe('healthcheck.js', () => {
  it('exits 0 when /v2/health/ready answers 200 on AIGES_SERVER_HTTP_PORT', () => {
    expect(check({ AIGES_SERVER_HTTP_PORT: String(loader.httpPort) })).toBe(0);
  });

  it('exits 1 when nothing listens there', async () => {
    expect(check({ AIGES_SERVER_HTTP_PORT: String(await freePort()) })).toBe(1);
  });

  it('exits 1 once the loader is stopping (ready 503 while it drains, then nothing listens)', async () => {
    loader.proc.kill('SIGTERM');
    await loader.waitForLog('draining');
    expect(check({ AIGES_SERVER_HTTP_PORT: String(loader.httpPort) })).toBe(1);
  });
});
