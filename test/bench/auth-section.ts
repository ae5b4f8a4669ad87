/**
 * The `auth` section of `npm run bench`: what AK/SK costs the server (issue 14: ≤ 5 µs of server
 * CPU per call for a 1 KiB body).
 *
 * 1. Verification alone, in this process: the loader's own check (loader/auth/aksk.ts:
 *    `authenticate` then `checkBody` with the body's SHA-256, as the gRPC adapter runs them) over
 *    requests signed beforehand, each with its own nonce (the replay cache takes every one), in
 *    batches; the median batch's µs per request. Beside it, its two hashes alone: the body's
 *    SHA-256 and one HMAC-SHA256 of the string to sign, computed as the loader computes it
 *    (loader/auth/digest.ts: the key prepared once).
 * 2. End to end: the loader's gRPC echo at 1 KiB with `[auth] mode = "aksk"` (a keys file, the
 *    client signing every call) against the same loader without `[auth]`, each an `aiges serve`
 *    child driven by load.ts's closed loop; server CPU µs per call from /proc (the client's signing
 *    runs in this process and is not counted).
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AkSkAuth } from '../../loader/auth/aksk.js';
import { KeyHmac } from '../../loader/auth/digest.js';
import { accessKeyOf, type KeySource } from '../../loader/auth/keys.js';
import { createLogger } from '../../loader/log.js';
import { AuthCounts } from '../../loader/metrics.js';
import { contentSha256, signRequest, stringToSign } from '../../plugins/aksk.js';
import { median } from './balancer-section.js';
import { type LoadResult, runLoad } from './load.js';
import { grpcTarget } from './load-grpc.js';
import { startServer } from './servers.js';
import { formatValue, markdownTable, type SummaryRow } from './summary.js';

export interface AuthSettings {
  bytes: number;
  /** Requests per verification batch, and batches. */
  batch: number;
  batches: number;
  warmupMs: number;
  durationMs: number;
  concurrency: number;
}

export function authSettings(quick: boolean): AuthSettings {
  const common = { bytes: 1024, concurrency: 32 };
  return quick
    ? { ...common, batch: 2_000, batches: 3, warmupMs: 500, durationMs: 1_000 }
    : { ...common, batch: 20_000, batches: 7, warmupMs: 2_000, durationMs: 5_000 };
}

export interface VerifyCost {
  /** µs per request: the loader's whole check, the body's hash, one HMAC (medians of the batches). */
  verifyMicros: number;
  sha256Micros: number;
  hmacMicros: number;
}

type Mode = 'none' | 'aksk';

export interface AuthRun {
  verify: VerifyCost;
  grpc: Record<Mode, LoadResult[]>;
}

const ACCESS_KEY = 'bench';
const HOST = '127.0.0.1:5090';

function timeMicros(n: number, body: () => void): number {
  const start = process.hrtime.bigint();
  body();
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

/** Part 1: µs per request of the loader's check, and of its hashes alone. */
export function verifyCost(s: AuthSettings): VerifyCost {
  const secretKey = randomBytes(32).toString('base64');
  const key = accessKeyOf({ access_key: ACCESS_KEY, secret_key: secretKey });
  const keys: KeySource = { loaded: Promise.resolve(), get: (k) => (k === ACCESS_KEY ? key : undefined), watch() {}, close() {} };
  const body = randomBytes(s.bytes);
  const verify: number[] = [];
  const sha: number[] = [];
  const hmac: number[] = [];
  const keyed = new KeyHmac(createSecretKey(Buffer.from(secretKey, 'base64')));
  const digest = Buffer.alloc(32);
  for (let b = 0; b < s.batches; b++) {
    // A fresh cache per batch: every batch fills it from empty, as a loader's first seconds do.
    const auth = new AkSkAuth({ clock_skew_s: 300, replay_cache_max: s.batch }, keys, createLogger('silent'), new AuthCounts());
    const requests = Array.from({ length: s.batch }, (_, i) => {
      const pathAndQuery = `/aiges.v1.Loader/Infer?nonce=${b}-${i}`;
      const h = signRequest({ accessKey: ACCESS_KEY, secretKey }, { method: 'POST', pathAndQuery, host: HOST, body });
      return {
        method: 'POST',
        pathAndQuery,
        host: HOST,
        authorization: h.authorization,
        date: h.date,
        contentSha256: h['x-ark-content-sha256'],
      };
    });
    verify.push(
      timeMicros(s.batch, () => {
        for (const r of requests) auth.authenticate(r).checkBody(contentSha256(body));
      }),
    );
    sha.push(
      timeMicros(s.batch, () => {
        for (let i = 0; i < s.batch; i++) contentSha256(body);
      }),
    );
    hmac.push(
      timeMicros(s.batch, () => {
        for (const r of requests) keyed.digestInto(stringToSign(r), digest);
      }),
    );
  }
  return { verifyMicros: median(verify), sha256Micros: median(sha), hmacMicros: median(hmac) };
}

function keysFile(secretKey: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'aiges-bench-auth-')), 'keys.toml');
  writeFileSync(file, `[[keys]]\naccess_key = "${ACCESS_KEY}"\nsecret_key = "${secretKey}"\n`, { mode: 0o600 });
  return file;
}

async function measure(root: string, mode: Mode, file: string, secretKey: string, s: AuthSettings): Promise<LoadResult> {
  const aksk = mode === 'aksk';
  const proc = await startServer(root, 'ours', 'grpc', {
    loaderArgs: aksk ? ['--set', 'auth.mode=aksk', '--set', `auth.keys_file=${file}`] : [],
  });
  const target = grpcTarget(
    proc.port,
    Buffer.alloc(s.bytes, 'aiges-bench '),
    undefined,
    aksk ? { accessKey: ACCESS_KEY, secretKey } : undefined,
  );
  try {
    await target.check();
    return await runLoad(target, { concurrency: s.concurrency, warmupMs: s.warmupMs, durationMs: s.durationMs, serverPid: proc.pid });
  } finally {
    await target.close();
    await proc.stop();
  }
}

export async function runAuth(root: string, s: AuthSettings, repeat: number, progress: (line: string) => void): Promise<AuthRun> {
  const verify = verifyCost(s);
  progress(
    `  auth verify: ${verify.verifyMicros.toFixed(2)} µs per request (SHA-256 of ${s.bytes} B ${verify.sha256Micros.toFixed(2)} µs, ` +
      `one HMAC ${verify.hmacMicros.toFixed(2)} µs)`,
  );
  const secretKey = randomBytes(32).toString('base64');
  const file = keysFile(secretKey);
  const grpc: Record<Mode, LoadResult[]> = { none: [], aksk: [] };
  for (let r = 0; r < repeat; r++) {
    const order: Mode[] = r % 2 === 0 ? ['none', 'aksk'] : ['aksk', 'none'];
    for (const mode of order) {
      const result = await measure(root, mode, file, secretKey, s);
      grpc[mode].push(result);
      progress(
        `  auth grpc ${mode} run ${r + 1}/${repeat}: ${result.callsPerSec.toFixed(0)} calls/s, ` +
          `p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuMicrosPerCall.toFixed(1)} µs server CPU/call`,
      );
    }
  }
  return { verify, grpc };
}

const med = (rs: readonly LoadResult[], pick: (r: LoadResult) => number) => median(rs.map(pick));

export function authReport(run: AuthRun, s: AuthSettings, repeat: number): string {
  const v = run.verify;
  const rows = (['none', 'aksk'] as const).map((mode) => [
    mode === 'none' ? 'no [auth]' : '[auth] mode = "aksk"',
    formatValue(med(run.grpc[mode], (r) => r.callsPerSec)),
    formatValue(med(run.grpc[mode], (r) => r.p99Ms)),
    formatValue(med(run.grpc[mode], (r) => r.cpuMicrosPerCall)),
  ]);
  const delta = med(run.grpc.aksk, (r) => r.cpuMicrosPerCall) - med(run.grpc.none, (r) => r.cpuMicrosPerCall);
  return [
    `auth: AK/SK verification of a ${s.bytes} B request; medians of ${s.batches} batches of ${s.batch}, and of ${repeat} run(s) per gRPC case`,
    '',
    `verification alone: ${v.verifyMicros.toFixed(2)} µs per request (target ≤ 5 µs) ${v.verifyMicros <= 5 ? 'OK' : 'ABOVE TARGET'}; ` +
      `of which the body's SHA-256 ${v.sha256Micros.toFixed(2)} µs and one HMAC-SHA256 ${v.hmacMicros.toFixed(2)} µs`,
    '',
    markdownTable(['gRPC echo 1 KiB, 32 in flight', 'calls/s', 'p99 ms', 'server CPU µs/call'], rows),
    `end to end: ${delta.toFixed(1)} µs more server CPU per call with [auth]`,
  ].join('\n');
}

export function authSummary(run: AuthRun, s: AuthSettings): SummaryRow[] {
  const label = `gRPC echo ${s.bytes} B, signed`;
  return [
    {
      section: 'auth',
      case: label,
      metric: 'server CPU µs/call',
      higherIsBetter: false,
      ours: med(run.grpc.aksk, (r) => r.cpuMicrosPerCall),
      baseline: 'no [auth]',
      baselineValue: med(run.grpc.none, (r) => r.cpuMicrosPerCall),
    },
    {
      section: 'auth',
      case: label,
      metric: 'calls/s',
      higherIsBetter: true,
      ours: med(run.grpc.aksk, (r) => r.callsPerSec),
      baseline: 'no [auth]',
      baselineValue: med(run.grpc.none, (r) => r.callsPerSec),
    },
  ];
}
