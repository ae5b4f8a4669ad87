/**
 * The balancer's cost alone: `npx tsx test/bench/balancer.ts` (after `npm run build`; needs etcd).
 * The same measurement as `npm run bench -- --only balancer` (balancer-section.ts), printed alone.
 * Flags: --quick (1 s windows, 2 rounds of part 2), --concurrency <n> (default 32), --size <bytes>
 * (default 1024), --repeat <n> (default 1), --rounds <n> (part 2, default 5).
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { balancerReport, balancerSettings, runBalancer } from './balancer-section.js';
import { checkBuilt } from './servers.js';

const ROOT = new URL('../..', import.meta.url).pathname;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string' },
    size: { type: 'string' },
    repeat: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const defaults = balancerSettings(values.quick === true);
const int = (flag: string, value: string | undefined, fallback: number) => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive integer, got "${value}"`);
  return n;
};
const settings = {
  ...defaults,
  concurrency: int('concurrency', values.concurrency, defaults.concurrency),
  size: int('size', values.size, defaults.size),
  repeat: int('repeat', values.repeat, defaults.repeat),
  rounds: int('rounds', values.rounds, defaults.rounds),
};

checkBuilt(ROOT);
const result = await runBalancer(ROOT, settings, (line) => process.stderr.write(`${line}\n`));
console.log(`# aiges lb bench — ${new Date().toISOString()}`);
console.log(
  `machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, Node ${process.version}; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`\n${balancerReport(result, settings)}`);
