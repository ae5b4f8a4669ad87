/**
 * Config propagation: from `push` to "applied" reported by every one of 3 loaders, against a real
 * etcd, with 3 real `aiges serve demo/echo` child processes. Each push waits until the three status
 * keys show its version applied (observed through an etcd watch, so the time includes the loaders'
 * status writes), then the next push starts. [limits] pushes change the capacity (applied at once);
 * [wrapper] pushes make each loader initialise a new plugin set and switch to it.
 *
 * Run: npm run build && npx tsx test/bench/config-propagation.ts [--pushes 200] [--wrapper-pushes 50]
 * Target (issue: polaris): p99 ≤ 500 ms.
 */
import { parseArgs } from 'node:util';
import { EtcdPolaris } from '../../polaris/store/polaris-etcd.js';
import { configKeys } from '../../polaris/store/keys.js';
import type { ApplyStatus } from '../../polaris/store/types.js';
import { startServe, type CliProcess } from '../cli/serve-process.js';
import { TestEtcd } from '../polaris/etcd.js';
import { tomlFile } from '../polaris/helpers.js';

const SERVICE = 'propagation';
const LOADERS = 3;

const { values } = parseArgs({
  options: { pushes: { type: 'string', default: '200' }, 'wrapper-pushes': { type: 'string', default: '50' } },
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summary(name: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(1).padStart(7);
  return `| ${name.padEnd(9)} | ${String(s.length).padStart(6)} | ${f(percentile(s, 50))} | ${f(percentile(s, 90))} | ${f(percentile(s, 99))} | ${f(s.at(-1) ?? NaN)} |`;
}

const etcd = await TestEtcd.start();
const admin = new EtcdPolaris({ endpoints: [etcd.endpoint] });
const children: CliProcess[] = [];
try {
  const config = tomlFile(`[polaris]\nendpoints = ["${etcd.endpoint}"]\nservice = "${SERVICE}"\n`);
  children.push(...(await Promise.all(Array.from({ length: LOADERS }, () => startServe(['demo/echo', '-c', config])))));
  while ((await admin.discovery.list(SERVICE)).length < LOADERS) await new Promise((r) => setTimeout(r, 50));

  // Status keys of every loader, as etcd reports them.
  const applied = new Map<string, ApplyStatus>();
  let wake: (() => void) | undefined;
  const watcher = await admin.client.watch().prefix(configKeys.statusPrefix(SERVICE)).create();
  watcher.on('put', (kv) => {
    const status = JSON.parse(kv.value.toString()) as ApplyStatus;
    applied.set(status.instance, status);
    wake?.();
  });
  const allApplied = (version: number) => applied.size === LOADERS && [...applied.values()].every((s) => s.version === version && s.ok);

  async function measure(toml: string): Promise<number> {
    const started = performance.now();
    const { version } = await admin.config.push(SERVICE, toml);
    while (!allApplied(version)) await new Promise<void>((r) => (wake = r));
    return performance.now() - started;
  }

  const limits: number[] = [];
  for (let i = 0; i < Number(values.pushes); i++) limits.push(await measure(`[limits]\ncapacity = ${8 + (i % 2)}\n`));
  const wrapper: number[] = [];
  for (let i = 0; i < Number(values['wrapper-pushes']); i++) wrapper.push(await measure(`[wrapper]\nround = ${i}\n`));
  await watcher.cancel();

  process.stdout.write(`\nconfig push → applied on all ${LOADERS} loaders (ms; real etcd, ${LOADERS} aiges serve processes)\n\n`);
  process.stdout.write('| push      | pushes |     p50 |     p90 |     p99 |     max |\n|---|---:|---:|---:|---:|---:|\n');
  process.stdout.write(`${summary('[limits]', limits)}\n${summary('[wrapper]', wrapper)}\n`);
} finally {
  for (const c of children) c.proc.kill('SIGKILL');
  await admin.close();
  await etcd.stop();
}
