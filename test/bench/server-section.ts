/**
 * Sections (a) gRPC and (b) HTTP of `npm run bench`, at every payload size (e): the loader's echo
 * against baselines doing the same work, one server process at a time, load from this process.
 *   - gRPC: bare grpc-js (bare-grpc.ts).
 *   - HTTP: bare fastify (bare-http.ts), and Flask (bare-flask.py) on its own threaded server and
 *     under gunicorn. A Flask baseline that cannot run here is left out with a line naming the
 *     apt command that installs it.
 */
import { runLoad, type Target } from './load.js';
import { grpcTarget } from './load-grpc.js';
import { httpTarget } from './load-http.js';
import { pythonBaselineMissing } from './python-baselines.js';
import { medianResult, serverLabel, sizeLabel, type CaseResult } from './report.js';
import { startServer, type Protocol, type ServerKind } from './servers.js';
import { concurrencyFor, type Settings } from './settings.js';

/** One case: a fresh server process, a response check, warm-up, then the measured window. */
async function measure(root: string, protocol: Protocol, server: ServerKind, payloadBytes: number, s: Settings): Promise<CaseResult> {
  const concurrency = concurrencyFor(s, payloadBytes);
  const proc = await startServer(root, server, protocol, { profileDir: s.profileDir });
  let target: Target | undefined;
  try {
    const payload = Buffer.alloc(payloadBytes, 'aiges-bench ');
    target = protocol === 'grpc' ? grpcTarget(proc.port, payload) : httpTarget(proc.port, payload, concurrency);
    await target.check();
    const result = await runLoad(target, { concurrency, warmupMs: s.warmupMs, durationMs: s.durationMs, serverPid: proc.pid });
    return { protocol, payloadBytes, server, concurrency, ...result };
  } catch (err) {
    // A server that died mid-case fails the load in some way; say that it died, and how.
    // NOTE: give Node a moment to reap the child, so that its exit status is known.
    await new Promise((r) => setTimeout(r, 200));
    const death = proc.death();
    throw death === undefined ? err : new Error(death);
  } finally {
    await target?.close();
    await proc.stop();
  }
}

/** The baselines of a protocol that can run here; `note` gets a line for each one that cannot. */
export function baselinesOf(protocol: Protocol, note: (line: string) => void): ServerKind[] {
  if (protocol === 'grpc') return ['bare'];
  const out: ServerKind[] = ['bare'];
  for (const kind of ['flask', 'gunicorn'] as const) {
    const missing = pythonBaselineMissing(kind);
    if (missing === undefined) out.push(kind);
    else note(`${serverLabel('http', kind)} rows left out: ${missing}`);
  }
  return out;
}

/**
 * Every size for one protocol: ours and each baseline, `repeat` times each. The order rotates
 * from one repeat to the next, so slow drifts in machine load hit every server alike.
 */
export async function runProtocol(
  root: string,
  protocol: Protocol,
  baselines: readonly ServerKind[],
  s: Settings,
  progress: (line: string) => void,
): Promise<{ results: CaseResult[]; runs: CaseResult[] }> {
  const servers: ServerKind[] = ['ours', ...baselines];
  const results: CaseResult[] = [];
  const runs: CaseResult[] = [];
  for (const size of s.sizes) {
    const byServer = new Map<ServerKind, CaseResult[]>(servers.map((k) => [k, []]));
    for (let i = 0; i < s.repeat; i++) {
      const order = servers.map((_, j) => servers[(i + j) % servers.length] as ServerKind);
      for (const server of order) {
        const r = await measure(root, protocol, server, size, s);
        byServer.get(server)?.push(r);
        runs.push(r);
        progress(
          `  ${protocol} ${sizeLabel(size)} ${server}: ${r.callsPerSec.toFixed(0)} calls/s, ` +
            `p99 ${r.p99Ms.toFixed(2)} ms, ${r.cpuMicrosPerCall.toFixed(0)} µs CPU/call`,
        );
      }
    }
    for (const server of servers) results.push(medianResult(byServer.get(server) ?? []));
  }
  return { results, runs };
}
