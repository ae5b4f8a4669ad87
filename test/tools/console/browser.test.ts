/**
 * `aiges console` in a real browser (integration tier): Debian's chromium driven by playwright-core
 * (never a downloaded browser), the console and two loaders as `aiges` child processes, a real etcd.
 * One browser and one page for the whole file; the steps build on each other in order.
 *
 * With CONSOLE_SCREENSHOTS=1 (not AIGES_…: the loaders would read that as config) the screenshots of the main pages are written into docs/images/ (the
 * ones docs/console.md shows); otherwise into a temp folder, so that the same code runs either way.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, ROOT, runCli, runToExit, startServe } from '../../cli/serve-process.js';
import { TestEtcd } from '../../polaris/etcd.js';

const CHROMIUM = '/usr/bin/chromium';
const OPERATOR = 'op-token-for-the-browser-test';
const VIEWER = 'viewer-token-for-the-browser-test';
const SERVICE = 'slow';
const SHOTS =
  process.env['CONSOLE_SCREENSHOTS'] === '1' ? join(ROOT, 'docs', 'images') : mkdtempSync(join(tmpdir(), 'aiges-console-shots-'));

type Serve = Awaited<ReturnType<typeof startServe>>;

let etcd: TestEtcd;
let dir: string;
let consoleCli: CliProcess;
let base: string;
let browser: Browser;
let page: Page;
const serves = new Map<string, Serve>();

function startLoader(id: string): Promise<Serve> {
  return startServe(['test/fixtures/plugins/slow.ts', '--etcd', etcd.endpoint, '--set', `polaris.instance_id=${id}`]).then((s) => {
    serves.set(id, s);
    return s;
  });
}

async function stopLoader(id: string): Promise<void> {
  const s = serves.get(id);
  serves.delete(id);
  s?.proc.kill('SIGTERM');
  await s?.exited;
}

const row = (id: string) => page.locator(`[data-testid=instance][data-id="${id}"]`);
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `console-${name}.png`) });

async function login(token: string, role: string): Promise<void> {
  await page.getByTestId('token').fill(token);
  await page.getByTestId('login').click();
  await expect.poll(() => page.getByTestId('role').textContent()).toBe(role);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is not installed at ${CHROMIUM}: run \`apt-get install -y chromium\``);
  mkdirSync(SHOTS, { recursive: true });
  etcd = await TestEtcd.start();
  dir = mkdtempSync(join(tmpdir(), 'aiges-console-'));
  writeFileSync(join(dir, 'ops.tokens'), `# operators\n${OPERATOR}\n`);
  writeFileSync(join(dir, 'view.tokens'), `${VIEWER}\n`);
  consoleCli = runCli([
    'console',
    '--etcd',
    etcd.endpoint,
    '--listen',
    '127.0.0.1:0',
    '--operator-token-file',
    join(dir, 'ops.tokens'),
    '--viewer-token-file',
    join(dir, 'view.tokens'),
    '--scrape-interval-ms',
    '500',
  ]);
  const listening = await consoleCli.waitForLog('console listening');
  base = `http://127.0.0.1:${String(listening['port'])}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([...serves.keys()].map(stopLoader));
  consoleCli?.proc.kill('SIGTERM');
  await consoleCli?.exited;
  await etcd?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('aiges console in chromium', () => {
  it('loads, asks for a login, and lets an operator in', async () => {
    await page.goto(base);
    await expect.poll(() => page.getByTestId('login').isVisible()).toBe(true);
    await shot('login');
    await login(OPERATOR, 'operator');
    await expect.poll(() => page.getByTestId('no-instances').isVisible()).toBe(true);
  });

  it('shows an instance within 2 s of its loader registering, with its registration and live load', async () => {
    const [a] = await Promise.all([startLoader('slow-a'), startLoader('slow-b')]);
    await a.waitForLog('registered in polaris');
    const registered = Date.now();
    await row('slow-a').waitFor({ timeout: 2_000 });
    expect(Date.now() - registered).toBeLessThan(2_000);
    await row('slow-b').waitFor({ timeout: 5_000 });
    await expect.poll(() => row('slow-a').getByTestId('state').textContent()).toBe('ready');
    expect(await row('slow-a').textContent()).toContain(`127.0.0.1:${a.grpcPort}`);
    expect(await row('slow-a').getByTestId('capacity').textContent()).toMatch(/^\d+$/);
  });

  it('moves the load figures and the call figures under aiges xtest', { timeout: 45_000 }, async () => {
    const a = serves.get('slow-a') as Serve;
    const xtest = runToExit(['xtest', `127.0.0.1:${a.grpcPort}`, SERVICE, '-c', '4', '-d', '8s', '-p', 'ms=100', '-t', 'text=hi']);
    const inflight = () => row('slow-a').getByTestId('inflight').textContent();
    await expect.poll(async () => Number(await inflight()), { timeout: 10_000 }).toBeGreaterThan(0);
    const figures = page.getByTestId(`figures-${SERVICE}`);
    await expect.poll(async () => Number(await figures.getByTestId('calls-now').textContent()), { timeout: 8_000 }).toBeGreaterThan(0);
    await expect.poll(() => figures.getByTestId('p99').textContent(), { timeout: 8_000 }).toMatch(/ms$/);
    await shot('services');
    expect((await xtest).code).toBe(0);
    // Back to idle once the load test is over: the figures follow the loader both ways.
    await expect.poll(async () => Number(await inflight()), { timeout: 10_000 }).toBe(0);
  });

  it('a push from the editor turns every instance to applied', async () => {
    await page.getByTestId('tab-config').click();
    await page.getByTestId('editor').fill('[limits]\ncapacity = 12\n');
    await page.getByTestId('push-note').fill('capacity 12');
    await page.getByTestId('push').click();
    await expect.poll(() => page.getByTestId('outcome').textContent(), { timeout: 15_000 }).toContain('version 1 now current');
    await expect.poll(() => page.getByTestId('current-version').textContent()).toBe('1');
    await expect.poll(() => page.getByTestId('last-try').allTextContents()).toEqual(['1 applied', '1 applied']);
  });

  it('a bad config shows the error beside its line and changes nothing', async () => {
    await page.getByTestId('editor').fill('[limits]\ncapacity = 12\ndefault_deadline_ms = "soon"\n');
    await page.getByTestId('push').click();
    const marker = page.getByTestId('line-error');
    await marker.waitFor();
    expect(await marker.getAttribute('data-line')).toBe('3');
    expect(await marker.textContent()).toContain('limits.default_deadline_ms');
    expect(await page.getByTestId('push-error').textContent()).toContain('CONSOLE_INVALID_CONFIG');
    await shot('config-error');
    expect(await page.getByTestId('version').count()).toBe(1);
    expect(await page.getByTestId('current-version').textContent()).toBe('1');
  });

  it('diffs two versions and rolls back', async () => {
    await page.getByTestId('editor').fill('[limits]\ncapacity = 10\n');
    await page.getByTestId('push-note').fill('capacity 10');
    await page.getByTestId('push').click();
    await expect.poll(() => page.getByTestId('outcome').textContent(), { timeout: 15_000 }).toContain('version 2 now current');
    // The outcome and the version list are rendered from two answers: the list may come a moment later.
    await expect.poll(() => page.getByTestId('current-version').textContent()).toBe('2');
    await expect.poll(() => page.getByTestId('diff').textContent()).toContain('- capacity = 12');
    expect(await page.getByTestId('diff').textContent()).toContain('+ capacity = 10');
    await shot('config');
    await page.locator('[data-testid=version][data-version="1"] [data-testid=rollback]').click();
    await expect.poll(() => page.getByTestId('current-version').textContent()).toBe('1');
    await page.getByTestId('tab-services').click();
    await expect.poll(() => row('slow-b').getByTestId('capacity').textContent()).toBe('12');
  });

  it('creates an access key showing its secret once, and revokes it', async () => {
    await page.getByTestId('tab-keys').click();
    await page.getByTestId('key-services').fill(SERVICE);
    await page.getByTestId('key-note').fill('from the console');
    await page.getByTestId('key-create').click();
    const ak = (await page.getByTestId('created-ak').textContent()) ?? '';
    expect(ak).toMatch(/^AK/);
    expect(Buffer.from((await page.getByTestId('created-sk').textContent()) ?? '', 'base64')).toHaveLength(32);
    const listed = page.locator(`[data-testid=key][data-ak="${ak}"]`);
    await listed.waitFor();
    await shot('keys');
    await listed.getByTestId('revoke').click();
    await listed.waitFor({ state: 'detached' });
  });

  it('a viewer sees everything and changes nothing: the server refuses, not just the page', async () => {
    await page.getByRole('button', { name: 'log out' }).click();
    await login(VIEWER, 'read-only');
    await page.getByTestId('tab-config').click();
    await expect.poll(() => page.getByTestId('current-version').textContent()).toBe('1');
    expect(await page.getByTestId('push').isDisabled()).toBe(true);
    // The page's own session, sending what an enabled button would.
    const fromPage = await page.evaluate(async (service) => {
      const res = await fetch(`/api/config/${service}/rollback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version: 2 }),
      });
      return [res.status, ((await res.json()) as { code: string }).code];
    }, SERVICE);
    expect(fromPage).toEqual([403, 'CONSOLE_READ_ONLY']);
    const direct = await fetch(`${base}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VIEWER}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(direct.status).toBe(403);
    expect(((await direct.json()) as { code: string }).code).toBe('CONSOLE_READ_ONLY');
    const config = (await (await fetch(`${base}/api/config/${SERVICE}`, { headers: { authorization: `Bearer ${VIEWER}` } })).json()) as {
      current: number;
    };
    expect(config.current).toBe(1);
  });

  it('an instance goes from the page when its loader stops', async () => {
    await page.getByTestId('tab-services').click();
    await row('slow-b').waitFor();
    await stopLoader('slow-b');
    await row('slow-b').waitFor({ state: 'detached', timeout: 5_000 });
    expect(await row('slow-a').count()).toBe(1);
  });
});
