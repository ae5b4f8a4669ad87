/**
 * An open-loop session load: `sessions` aiges.v1.Loader/Session streams, opened one by one over
 * a ramp and then held open, each sending one frame every 1000/framesPerSec ms on its own
 * schedule (offset by i/sessions of a period, so sends are spread evenly), spread over
 * `channels` HTTP/2 connections.
 *
 * Frame latency: from writing a frame to receiving its echo. Both servers answer each frame with
 * one message, in order, so each session matches answers to a FIFO of send times. Only frames
 * sent inside the window count. Because sends follow a schedule, not the answers, a slow server
 * does not slow the load down; a saturated client does, and `sendLag` (how late sends were
 * against their schedule) shows it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { wireSession, type WireSession } from './session-wire.js';
import { LatencyHistogram } from '../../loader/tools/xtest/latency.js';

/** How many sessions, at what rate, for how long. */
export interface SessionPlan {
  sessions: number;
  framesPerSec: number;
  frameBytes: number;
  channels: number;
  /** All sessions open within this time; then warm-up, then the measured window. */
  rampMs: number;
  warmupMs: number;
  durationMs: number;
}

export interface SessionLoadOptions extends SessionPlan {
  port: number;
  /** Called at the start and end of the window (RSS and CPU sampling hooks). */
  onWindow?: (phase: 'start' | 'end') => void;
}

export interface SessionLoadResult {
  sessions: number;
  /** Frames sent inside the window (every one was answered, in or after the window). */
  frames: number;
  /** Frames sent per second inside the window: the offered load. */
  framesPerSec: number;
  /** Answers received per second inside the window: below framesPerSec, the system fell behind. */
  answeredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** How late sends were against their schedule, p99 over the window (client saturation). */
  sendLagP99Ms: number;
  clientCpuPercent: number;
}

/** A stream as the load drives it: send stamps each frame, end checks every frame came back. */
interface Stream {
  send(): void;
  end(): Promise<void>;
}

function openStream(wire: WireSession, client: grpc.Client, onAnswer: (sentAt: number) => void, onError: (err: Error) => void): Stream {
  const pending: number[] = [];
  const stream = wire.open(
    client,
    () => {
      const sentAt = pending.shift();
      if (sentAt === undefined) onError(new Error('session answered a frame it was not sent'));
      else onAnswer(sentAt);
    },
    onError,
  );
  return {
    send() {
      pending.push(performance.now());
      stream.send();
    },
    async end() {
      await stream.end();
      if (pending.length > 0) throw new Error(`${pending.length} frames of a session were never answered`);
    },
  };
}

export async function runSessionLoad(o: SessionLoadOptions): Promise<SessionLoadResult> {
  // A local subchannel pool per client: one HTTP/2 connection each, not one shared by all.
  const clients = Array.from(
    { length: o.channels },
    () => new grpc.Client(`127.0.0.1:${o.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
  const wire = wireSession(Buffer.alloc(o.frameBytes, 'aiges-session '));
  const latency = new LatencyHistogram();
  const lag = new LatencyHistogram();
  const period = 1000 / o.framesPerSec;
  let failure: Error | undefined;
  let stopping = false;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let frames = 0;
  let answeredInWindow = 0;
  const inWindow = (t: number) => t >= windowStart && t < windowEnd;
  const onAnswer = (sentAt: number) => {
    if (inWindow(performance.now())) answeredInWindow++;
    if (!inWindow(sentAt)) return;
    frames++;
    latency.record(performance.now() - sentAt);
  };
  const onError = (err: Error) => {
    failure ??= err;
  };

  const streams: Stream[] = [];
  const timers: NodeJS.Timeout[] = [];
  const t0 = performance.now();
  for (let i = 0; i < o.sessions; i++) {
    // Sessions open one by one over the ramp, each with its first frame; within a period their
    // sends are spread evenly.
    const first = t0 + (o.rampMs * i) / o.sessions + (period * i) / o.sessions;
    let due = first;
    let stream: Stream | undefined;
    const tick = () => {
      if (stopping) return;
      if (stream === undefined) {
        stream = openStream(wire, clients[i % o.channels] as grpc.Client, onAnswer, onError);
        streams.push(stream);
      }
      const now = performance.now();
      if (inWindow(now)) lag.record(now - due);
      stream.send();
      due += period;
      timers[i] = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    timers[i] = setTimeout(tick, Math.max(0, first - performance.now()));
  }

  await sleep(o.rampMs + period + o.warmupMs);
  const early = failure ?? (streams.length < o.sessions ? new Error(`only ${streams.length} of ${o.sessions} sessions opened`) : undefined);
  if (early !== undefined) {
    stopping = true;
    timers.forEach(clearTimeout);
    for (const c of clients) c.close();
    throw new Error(`session load failed before the window: ${early.message}`);
  }
  o.onWindow?.('start');
  const client0 = process.cpuUsage();
  windowStart = performance.now();
  await sleep(o.durationMs);
  windowEnd = performance.now();
  const client = process.cpuUsage(client0);
  o.onWindow?.('end');
  stopping = true;
  timers.forEach(clearTimeout);
  // Every frame sent must come back before the streams end.
  const ends = await Promise.allSettled(streams.map((s) => s.end()));
  for (const c of clients) c.close();
  const rejected = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
  const err = failure ?? (rejected?.reason as Error | undefined);
  if (err !== undefined) throw new Error(`session load failed: ${err.message}`);

  const seconds = (windowEnd - windowStart) / 1000;
  const frameLatency = latency.summary();
  const result: SessionLoadResult = {
    sessions: o.sessions,
    frames,
    framesPerSec: frames / seconds,
    answeredPerSec: answeredInWindow / seconds,
    // No frame answered inside the window: no latency (n/a in the tables).
    p50Ms: frameLatency.p50 ?? Number.NaN,
    p99Ms: frameLatency.p99 ?? Number.NaN,
    maxMs: frameLatency.max ?? Number.NaN,
    sendLagP99Ms: lag.summary().p99 ?? Number.NaN,
    clientCpuPercent: ((client.user + client.system) / 1e6 / seconds) * 100,
  };
  latency.destroy();
  lag.destroy();
  return result;
}
