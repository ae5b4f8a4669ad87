/**
 * The `tls` section of `npm run bench`: the loader's echo at 1 KiB over gRPC and over HTTP, with
 * `[server.tls]` against plaintext, each an `aiges serve` child driven by the closed loop of
 * load.ts. Certificates (a CA and a P-256 server certificate) are made with openssl in a temp
 * folder. Connections are opened during the warm-up, so the window measures encryption of a
 * steady stream, not handshakes. Each case runs `repeat` times, plaintext and TLS alternating
 * (which goes first alternates too); medians are reported.
 */
import { readFileSync } from 'node:fs';
import type { ClientTls } from '../../loader/tools/client.js';
import { certDir, makeCa, makeCert } from '../lib/certs.js';
import { median } from './balancer-section.js';
import { type LoadResult, runLoad, type Target } from './load.js';
import { grpcTarget } from './load-grpc.js';
import { httpTarget } from './load-http.js';
import { startServer, type Protocol } from './servers.js';
import { formatValue, markdownTable, type SummaryRow } from './summary.js';

export interface TlsSettings {
  warmupMs: number;
  durationMs: number;
  concurrency: number;
  bytes: number;
}

export function tlsSettings(quick: boolean): TlsSettings {
  const common = { concurrency: 32, bytes: 1024 };
  return quick ? { ...common, warmupMs: 500, durationMs: 1000 } : { ...common, warmupMs: 2000, durationMs: 5000 };
}

type Transport = 'plaintext' | 'tls';

export interface TlsCase {
  protocol: Protocol;
  transport: Transport;
  runs: LoadResult[];
  /** Medians over the runs. */
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerCall: number;
}

interface Certificates {
  args: string[];
  client: ClientTls;
}

function certificates(): Certificates {
  const ca = makeCa(certDir(), 'bench-ca');
  const server = makeCert(ca, 'bench-loader');
  return { args: ['--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile], client: { ca: readFileSync(ca.caFile) } };
}

async function measure(root: string, protocol: Protocol, transport: Transport, certs: Certificates, s: TlsSettings): Promise<LoadResult> {
  const tls = transport === 'tls';
  const proc = await startServer(root, 'ours', protocol, { loaderArgs: tls ? certs.args : [] });
  let target: Target | undefined;
  try {
    const payload = Buffer.alloc(s.bytes, 'aiges-bench ');
    const client = tls ? certs.client : undefined;
    target = protocol === 'grpc' ? grpcTarget(proc.port, payload, client) : httpTarget(proc.port, payload, s.concurrency, client);
    await target.check();
    return await runLoad(target, { concurrency: s.concurrency, warmupMs: s.warmupMs, durationMs: s.durationMs, serverPid: proc.pid });
  } finally {
    await target?.close();
    await proc.stop();
  }
}

export async function runTls(root: string, s: TlsSettings, repeat: number, progress: (line: string) => void): Promise<TlsCase[]> {
  const certs = certificates();
  const cases: TlsCase[] = [];
  for (const protocol of ['grpc', 'http'] as const) {
    const runs: Record<Transport, LoadResult[]> = { plaintext: [], tls: [] };
    for (let r = 0; r < repeat; r++) {
      const order: Transport[] = r % 2 === 0 ? ['plaintext', 'tls'] : ['tls', 'plaintext'];
      for (const transport of order) {
        const result = await measure(root, protocol, transport, certs, s);
        runs[transport].push(result);
        progress(
          `  tls ${protocol} ${transport} run ${r + 1}/${repeat}: ${result.callsPerSec.toFixed(0)} calls/s, ` +
            `p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuMicrosPerCall.toFixed(0)} µs CPU/call`,
        );
      }
    }
    for (const transport of ['plaintext', 'tls'] as const) {
      const rs = runs[transport];
      cases.push({
        protocol,
        transport,
        runs: rs,
        callsPerSec: median(rs.map((x) => x.callsPerSec)),
        p50Ms: median(rs.map((x) => x.p50Ms)),
        p99Ms: median(rs.map((x) => x.p99Ms)),
        cpuMicrosPerCall: median(rs.map((x) => x.cpuMicrosPerCall)),
      });
    }
  }
  return cases;
}

function caseLabel(protocol: Protocol, s: TlsSettings): string {
  return `echo ${s.bytes} B over ${protocol === 'grpc' ? 'gRPC' : 'HTTP'}, ${s.concurrency} in flight`;
}

export function tlsReport(cases: readonly TlsCase[], s: TlsSettings, repeat: number): string {
  const rows = cases.map((c) => [
    c.protocol,
    c.transport,
    formatValue(c.callsPerSec),
    formatValue(c.p50Ms),
    formatValue(c.p99Ms),
    formatValue(c.cpuMicrosPerCall),
  ]);
  const lines = [
    `tls: echo ${s.bytes} B, ${s.concurrency} in flight, warm-up ${s.warmupMs} ms, window ${s.durationMs} ms, ${repeat} run(s) per case, medians`,
    '',
    markdownTable(['protocol', 'transport', 'calls/s', 'p50 ms', 'p99 ms', 'server CPU µs/call'], rows),
  ];
  for (const protocol of ['grpc', 'http'] as const) {
    const plain = cases.find((c) => c.protocol === protocol && c.transport === 'plaintext');
    const tls = cases.find((c) => c.protocol === protocol && c.transport === 'tls');
    if (plain === undefined || tls === undefined) continue;
    lines.push(
      `${protocol}: TLS/plaintext calls/s ${(tls.callsPerSec / plain.callsPerSec).toFixed(2)}×; ` +
        `${(tls.cpuMicrosPerCall - plain.cpuMicrosPerCall).toFixed(1)} µs more server CPU per call`,
    );
  }
  return lines.join('\n');
}

export function tlsSummary(cases: readonly TlsCase[], s: TlsSettings): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const protocol of ['grpc', 'http'] as const) {
    const plain = cases.find((c) => c.protocol === protocol && c.transport === 'plaintext');
    const tls = cases.find((c) => c.protocol === protocol && c.transport === 'tls');
    if (plain === undefined || tls === undefined) continue;
    const common = { section: 'tls', case: caseLabel(protocol, s), baseline: 'plaintext' };
    rows.push({ ...common, metric: 'calls/s', higherIsBetter: true, ours: tls.callsPerSec, baselineValue: plain.callsPerSec });
    rows.push({
      ...common,
      metric: 'server CPU µs/call',
      higherIsBetter: false,
      ours: tls.cpuMicrosPerCall,
      baselineValue: plain.cpuMicrosPerCall,
    });
  }
  return rows;
}
