/**
 * One loader instance as the balancer sees it: an HTTP/2 link that forwarded calls go over
 * (balancer-link.ts), a grpc-js channel for one WatchLoad subscription that keeps its load
 * current (signed with the balancer's key when it has one), and whether it may be picked ("live").
 *
 * Live means: the load stream is open, its last report came less than SILENCE_MS ago, and the
 * report says ready. Anything else ejects the instance at once: the stream failing (a dead
 * process or a cut connection fails it), the stream going silent, or a not-ready report (the
 * loader is draining). While the instance stays in discovery the stream is re-opened (waiting
 * for the channel to connect); its first ready report lets the instance back in.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../loader/log.js';
import { loadLoaderProto } from '../../proto/load.js';
import type { LoadReport__Output } from '../../proto/gen/aiges/v1/LoadReport.js';
import { H2Link } from './link.js';
import type { Pickable } from './picker.js';
import type { InstanceRecord } from '../store/types.js';
import { channelCredentials, type Hop } from './upstream.js';

/** A load stream silent this long ejects the instance (loaders send a heartbeat every 1 s). */
export const SILENCE_MS = 3_000;
/** New instances ramp their effective capacity from WARMUP_FLOOR to 100 % over this long. */
export const WARMUP_MS = 10_000;
export const WARMUP_FLOOR = 0.1;
/** Re-opening a failed load stream: first delay, doubled up to the max. */
const RESUBSCRIBE_MIN_MS = 100;
const RESUBSCRIBE_MAX_MS = 2_000;

const WATCH_LOAD_PATH = '/aiges.v1.Loader/WatchLoad';

/** Channel options of every instance channel: pass-through sizes, quick reconnects. */
export const INSTANCE_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
  // NOTE: a channel of our own per instance: never share a connection with another client in
  // this process, so that ejecting and closing one instance touches nothing else.
  'grpc.use_local_subchannel_pool': 1,
  // Only the load stream uses this channel: no retries, no channelz bookkeeping.
  'grpc.enable_retries': 0,
  'grpc.enable_channelz': 0,
};

/** Effective capacity factor `elapsedMs` after an instance first turned ready: 0.1 → 1 over WARMUP_MS. */
export function warmUp(elapsedMs: number): number {
  const ramp = elapsedMs / WARMUP_MS;
  return ramp >= 1 ? 1 : WARMUP_FLOOR + (1 - WARMUP_FLOOR) * Math.max(0, ramp);
}

export interface EndpointSnapshot {
  id: string;
  address: string;
  live: boolean;
  inflight: number;
  sessions: number;
  pending: number;
  capacity: number;
  /** Effective capacity factor now (warm-up), 0.1 .. 1. */
  warm: number;
  /** Once calls this balancer sent on the instance's Relay stream, and as streams of their own (calls and sessions). */
  relayed: number;
  streamed: number;
}

export class Endpoint implements Pickable {
  /** The load stream's channel. */
  readonly client: grpc.Client;
  /** Forwarded calls' connection. */
  readonly link: H2Link;
  #record: InstanceRecord;
  #report: LoadReport__Output | undefined;
  /** Calls and sessions this balancer has on the instance now (picked, not yet over). */
  #local = 0;
  /** `#local` when the last report arrived: this balancer's share of what it reported. */
  #localAtReport = 0;
  #live = false;
  /** When the effective capacity ramp started (performance.now()); -Infinity: no ramp. */
  #warmStart: number | undefined;
  #stream: grpc.ClientReadableStream<LoadReport__Output> | undefined;
  #silence: NodeJS.Timeout | undefined;
  #resubscribe: NodeJS.Timeout | undefined;
  #backoff = RESUBSCRIBE_MIN_MS;
  #closed = false;

  constructor(
    record: InstanceRecord,
    private readonly log: Logger,
    /** Called whenever `live` flips. */
    private readonly onLiveChange: (endpoint: Endpoint) => void,
    /** Whether small once calls may go on a Relay stream (H2Link). */
    relay = true,
    /** The balancer's TLS files for instances whose record says `tls`, and its key (upstream.ts). */
    hop: Hop = {},
  ) {
    this.#record = record;
    const upstream = { tls: record.tls === true, ...hop };
    const signing = hop.signer === undefined ? {} : { interceptors: [hop.signer.interceptor(record.address)] };
    this.client = new grpc.Client(record.address, channelCredentials(upstream), { ...INSTANCE_CHANNEL_OPTIONS, ...signing });
    this.link = new H2Link(record.address, relay, upstream);
    // NOTE: an instance that started more than a warm-up ago is already warm (a balancer that
    // restarts must not ramp the whole fleet again). startedAt is the loader's clock: skew only
    // decides whether an instance of about 10 s of age ramps or not.
    const age = Date.now() - Date.parse(record.startedAt);
    if (Number.isFinite(age) && age > WARMUP_MS) this.#warmStart = -Infinity;
    this.#subscribe();
  }

  get id(): string {
    return this.#record.id;
  }

  get record(): InstanceRecord {
    return this.#record;
  }

  /** A newer record of the same instance (same id and address: labels or capacity changed). */
  set record(record: InstanceRecord) {
    this.#record = record;
  }

  get live(): boolean {
    return this.#live;
  }

  /** Whether a load report ever arrived (a fresh instance may still be connecting). */
  get reported(): boolean {
    return this.#report !== undefined;
  }

  /** Counts a pick against the instance at once, before its next report (AIGes's trick). */
  picked(): void {
    this.#local++;
  }

  /** A picked call or session is over (exactly once per `picked`). */
  settled(): void {
    this.#local--;
  }

  /** Picks since the last report, less this balancer's calls that ended since (may be negative). */
  get #pending(): number {
    return this.#local - this.#localAtReport;
  }

  #capacity(): number {
    return this.#report?.capacity || this.#record.capacity || 1;
  }

  /**
   * What the instance holds now, as best known here: its last report (inflight + sessions) plus
   * the pending picks. NOTE: pending also takes off this balancer's calls that ended since the
   * report, so a slot freed here counts as free at once, not a report later; and never less than
   * this balancer's own calls there.
   */
  #used(): number {
    const r = this.#report;
    const reported = r === undefined ? 0 : r.inflight + r.sessions;
    return Math.max(this.#local, reported + this.#pending);
  }

  warmFactor(now: number): number {
    return this.#warmStart === undefined ? WARMUP_FLOOR : warmUp(now - this.#warmStart);
  }

  score(now: number): number {
    return this.#used() / (this.#capacity() * this.warmFactor(now));
  }

  full(): boolean {
    return this.#used() >= this.#capacity();
  }

  snapshot(now = performance.now()): EndpointSnapshot {
    return {
      id: this.id,
      address: this.#record.address,
      live: this.#live,
      inflight: this.#report?.inflight ?? 0,
      sessions: this.#report?.sessions ?? 0,
      pending: this.#pending,
      capacity: this.#capacity(),
      warm: this.warmFactor(now),
      relayed: this.link.relayedCalls,
      streamed: this.link.streamedCalls,
    };
  }

  /** Stops the load stream and closes the channel and the link; calls in flight on the link finish. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#silence);
    clearTimeout(this.#resubscribe);
    this.#stream?.cancel();
    this.#stream = undefined;
    this.client.close();
    this.link.close();
    this.#setLive(false, 'removed from discovery');
  }

  #subscribe(): void {
    if (this.#closed) return;
    const method = loadLoaderProto().aiges.v1.Loader.service.WatchLoad;
    const metadata = new grpc.Metadata();
    // waitForReady: a stream opened while the instance is unreachable waits for the channel to
    // connect (with its reconnect backoff) instead of failing at once, again and again.
    metadata.setOptions({ waitForReady: true });
    const stream = this.client.makeServerStreamRequest(
      WATCH_LOAD_PATH,
      // A signing interceptor hands on the message as the bytes it signed.
      (request: object) => (Buffer.isBuffer(request) ? request : method.requestSerialize(request)),
      method.responseDeserialize as (bytes: Buffer) => LoadReport__Output,
      {},
      metadata,
    );
    this.#stream = stream;
    this.#armSilence();
    stream.on('data', (report: LoadReport__Output) => this.#onReport(report));
    const ended = (why: string) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      clearTimeout(this.#silence);
      this.#setLive(false, why);
      this.#scheduleResubscribe();
    };
    stream.on('error', (err: grpc.ServiceError) => ended(`load stream failed: ${grpc.status[err.code]} ${err.details}`));
    stream.on('end', () => ended('load stream ended'));
  }

  #armSilence(): void {
    if (this.#silence === undefined) {
      this.#silence = setTimeout(() => this.#onSilence(), SILENCE_MS);
    } else {
      this.#silence.refresh();
    }
  }

  #onSilence(): void {
    const stream = this.#stream;
    if (stream === undefined || this.#closed) return;
    this.#stream = undefined;
    this.#setLive(false, `no load report for ${SILENCE_MS} ms`);
    stream.cancel();
    this.#scheduleResubscribe();
  }

  #scheduleResubscribe(): void {
    if (this.#closed) return;
    clearTimeout(this.#resubscribe);
    this.#resubscribe = setTimeout(() => this.#subscribe(), this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, RESUBSCRIBE_MAX_MS);
  }

  #onReport(report: LoadReport__Output): void {
    this.#report = report;
    this.#localAtReport = this.#local;
    this.#backoff = RESUBSCRIBE_MIN_MS;
    this.#armSilence();
    if (report.instanceId !== '' && report.instanceId !== this.#record.id) {
      // Another process answers at this address (the registered one is gone): never route to it
      // under this record.
      this.#setLive(false, `address now serves instance ${report.instanceId}`);
      return;
    }
    if (report.ready && this.#warmStart === undefined) this.#warmStart = performance.now();
    this.#setLive(report.ready, report.ready ? 'ready' : 'not ready (starting or draining)');
  }

  #setLive(live: boolean, why: string): void {
    if (live === this.#live) return;
    this.#live = live;
    this.log.info({ instance: this.id, address: this.#record.address, reason: why }, live ? 'instance admitted' : 'instance ejected');
    this.onLiveChange(this);
  }
}
