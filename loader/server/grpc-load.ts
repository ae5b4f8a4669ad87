/**
 * aiges.v1.Loader/WatchLoad: the loader's live load, streamed to each balancer that asks
 * (polaris/README.md explains why load travels here and not through etcd).
 *
 * Contract: one report at once; one after admission or readiness changes, coalesced to at most
 * one per REPORT_MIN_INTERVAL_MS (the latest state wins); and a heartbeat when nothing was sent
 * for HEARTBEAT_MS, so that a silent stream means a dead or stuck loader. The stream ends when
 * the loader reaches `stopped`, so it never holds the gRPC server's graceful shutdown.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Admission } from '../dataplane/admission.js';
import type { HealthState } from '../health.js';
import type { LoadReport } from '../../proto/gen/aiges/v1/LoadReport.js';
import type { WatchLoadRequest__Output } from '../../proto/gen/aiges/v1/WatchLoadRequest.js';

/** At most one report per this many ms (admission changes in between are coalesced). */
export const REPORT_MIN_INTERVAL_MS = 20;
/** A report at least this often, changed or not. */
export const HEARTBEAT_MS = 1_000;

export interface LoadSource {
  admission: Admission;
  health: HealthState;
  /** The id the loader registered under in polaris ('' when standalone). */
  instanceId?: string | undefined;
}

export function loadReport({ admission, health, instanceId }: LoadSource): LoadReport {
  return {
    inflight: admission.onceCalls,
    sessions: admission.sessions,
    capacity: admission.capacity,
    ready: health.ready && admission.accepting,
    instanceId: instanceId ?? '',
  };
}

export function watchLoad(call: grpc.ServerWritableStream<WatchLoadRequest__Output, LoadReport>, source: LoadSource): void {
  let lastSent = -Infinity;
  let scheduled: NodeJS.Timeout | undefined;
  let blocked = false;
  let dirty = false;
  let ended = false;

  const send = () => {
    clearTimeout(scheduled);
    scheduled = undefined;
    if (ended) return;
    if (blocked) {
      // NOTE: the client reads slowly; send the latest state once it drains, not every change.
      dirty = true;
      return;
    }
    dirty = false;
    lastSent = performance.now();
    heartbeat.refresh();
    if (!call.write(loadReport(source))) blocked = true;
  };
  const changed = () => {
    if (scheduled !== undefined || ended) return;
    // NOTE: never write from inside acquire/release: a timer takes the report off the call path
    // and gathers a burst of changes into one report.
    scheduled = setTimeout(send, Math.max(0, lastSent + REPORT_MIN_INTERVAL_MS - performance.now()));
  };
  const heartbeat = setInterval(send, HEARTBEAT_MS);

  const offAdmission = source.admission.onChange(changed);
  const offHealth = source.health.onChange((state) => (state === 'stopped' ? end() : changed()));
  const cleanup = () => {
    ended = true;
    clearTimeout(scheduled);
    clearInterval(heartbeat);
    offAdmission();
    offHealth();
  };
  const end = () => {
    if (ended) return;
    send();
    cleanup();
    call.end();
  };
  call.on('drain', () => {
    blocked = false;
    if (dirty) send();
  });
  call.once('cancelled', cleanup);
  call.once('close', cleanup);
  call.once('error', cleanup);

  if (source.health.state === 'stopped') end();
  else send();
}
