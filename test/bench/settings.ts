/**
 * `npm run bench` flags → settings for every section.
 *
 *   --quick                 a short smoke run of every section (about 2 minutes)
 *   --only <sections>       comma-separated: grpc, http, native, balancer, sessions, worker,
 *                           isolation, tls, auth, batching, batch, v2
 *                           (servers = grpc,http); default all
 *   --json <file>           write every result as JSON
 *   --sizes 1024,65536      payload bytes of the grpc and http sections (default 1 KiB, 64 KiB, 4 MiB)
 *   --duration <ms>, --warmup <ms>   window and warm-up of each grpc/http case
 *   --concurrency <n>       calls in flight for payloads below 1 MiB (default 32)
 *   --large-concurrency <n> calls in flight for payloads of 1 MiB and more (default 4)
 *   --repeat <n>            each grpc/http (and worker, tls, auth, batching, v2) case n times, ours and baselines alternating; medians
 *   --cpu-prof <dir>        Node servers run under `node --cpu-prof`, profiles left there
 *   --sessions <n>          concurrent sessions of the sessions section (default 1000)
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { authSettings, type AuthSettings } from './auth-section.js';
import { balancerSettings, type BalancerSettings } from './balancer-section.js';
import { batchingSettings, type BatchingSettings } from './batching-section.js';
import { batchSettings, type BatchSettings } from './batch-section.js';
import { isolationSettings, type IsolationSettings } from './isolation-section.js';
import { nativeSettings, type NativeSettings } from './native-section.js';
import { sessionSettings, type SessionSettings } from './session-section.js';
import { tlsSettings, type TlsSettings } from './tls-section.js';
import { v2Settings, type V2Settings } from './v2-section.js';
import { workerSettings, type WorkerSettings } from './worker-section.js';

export const SECTIONS = [
  'grpc',
  'http',
  'native',
  'balancer',
  'sessions',
  'worker',
  'isolation',
  'tls',
  'auth',
  'batching',
  'batch',
  'v2',
] as const;
export type Section = (typeof SECTIONS)[number];

const KiB = 1024;
const MiB = 1024 * KiB;
/** Payloads from this size on run with `largeConcurrency` calls in flight. */
export const LARGE_PAYLOAD_BYTES = MiB;

export interface Settings {
  quick: boolean;
  sections: ReadonlySet<Section>;
  /** True when --only named the sections: a section that cannot run is then an error. */
  explicit: boolean;
  sizes: number[];
  warmupMs: number;
  durationMs: number;
  concurrency: number;
  largeConcurrency: number;
  repeat: number;
  profileDir: string | undefined;
  native: NativeSettings;
  balancer: BalancerSettings;
  sessions: SessionSettings;
  worker: WorkerSettings;
  isolation: IsolationSettings;
  tls: TlsSettings;
  auth: AuthSettings;
  batching: BatchingSettings;
  batch: BatchSettings;
  v2: V2Settings;
  jsonFile: string | undefined;
}

function int(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

function sectionsOf(only: string | undefined): Set<Section> {
  if (only === undefined) return new Set(SECTIONS);
  const out = new Set<Section>();
  for (const name of only.split(',').map((s) => s.trim())) {
    if (name === 'servers') {
      out.add('grpc').add('http');
    } else if ((SECTIONS as readonly string[]).includes(name)) {
      out.add(name as Section);
    } else {
      throw new Error(`--only takes ${SECTIONS.join(', ')} or servers (comma-separated), got "${name}"`);
    }
  }
  return out;
}

export function settingsFromArgs(args: string[] = process.argv.slice(2)): Settings {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      sizes: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      'large-concurrency': { type: 'string' },
      repeat: { type: 'string' },
      'cpu-prof': { type: 'string' },
      only: { type: 'string' },
      sessions: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const sessions = sessionSettings(quick);
  return {
    quick,
    sections: sectionsOf(values.only),
    explicit: values.only !== undefined,
    sizes: values.sizes?.split(',').map((s) => int('sizes', s.trim(), 0)) ?? [KiB, 64 * KiB, 4 * MiB],
    warmupMs: int('warmup', values.warmup, quick ? 500 : 2000),
    durationMs: int('duration', values.duration, quick ? 1000 : 5000),
    concurrency: int('concurrency', values.concurrency, 32),
    largeConcurrency: int('large-concurrency', values['large-concurrency'], 4),
    repeat: int('repeat', values.repeat, 1),
    profileDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    native: nativeSettings(quick),
    balancer: balancerSettings(quick),
    sessions: { ...sessions, sessions: int('sessions', values.sessions, sessions.sessions) },
    worker: workerSettings(quick),
    isolation: isolationSettings(quick),
    tls: tlsSettings(quick),
    auth: authSettings(quick),
    batching: batchingSettings(quick),
    batch: batchSettings(quick),
    v2: v2Settings(quick),
    jsonFile: values.json,
  };
}

/** Calls in flight for a payload size: fewer for large payloads, so that a window holds calls, not queues. */
export function concurrencyFor(s: Settings, payloadBytes: number): number {
  return payloadBytes >= LARGE_PAYLOAD_BYTES ? Math.min(s.largeConcurrency, s.concurrency) : s.concurrency;
}
