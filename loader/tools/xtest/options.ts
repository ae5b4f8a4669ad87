/**
 * What a load test does: the options `runXtest` takes, their defaults, and their checks. The CLI
 * (loader/cli/xtest.ts) turns flags into these; a program may build them directly.
 */
import type { AkSkCredentials } from '../../../plugins/aksk.js';
import { type ClientTlsFiles, hasTlsFiles, parseGrpcTarget } from '../client-tls.js';
import type { InputRules, InputSpec } from '../inputs.js';
import { checkTarget, type LoaderTarget } from '../target.js';
import { invalidOption, XtestCodes } from './errors.js';

/** xtest's input rules: a directory is cycled through; errors with the XTEST_* codes. */
export const XTEST_INPUTS: InputRules = {
  directories: true,
  invalid: XtestCodes.INVALID_OPTION,
  unreadable: XtestCodes.INPUT_UNREADABLE,
};

/** The loader driven: gRPC `address` (host:port) or HTTP `url` (loader/tools/target.ts). */
export type XtestTarget = LoaderTarget;

export interface XtestOptions {
  target: XtestTarget;
  service: string;
  /** `once`: one request, one response; `session`: a stream of frames per call. */
  mode: 'once' | 'session';
  /** Calls in flight at a time (each worker makes one call after another). */
  concurrency: number;
  /** Stop after this many calls (sessions in session mode). Exclusive with `durationMs`. */
  requests: number | undefined;
  /** Stop starting calls after this long; calls in flight then still finish and count. */
  durationMs: number | undefined;
  /** Workers start evenly spread over this time (worker i at rampUpMs·i/concurrency). */
  rampUpMs: number;
  inputs: InputSpec[];
  params: Record<string, string>;
  /** Session mode: bytes per frame (each input sliced in step); undefined: one frame. */
  frameBytes: number | undefined;
  /** Session mode: pause between two frames of a session. */
  frameIntervalMs: number;
  /** Deadline of each call (of each whole session); undefined: the loader's default. */
  timeoutMs: number | undefined;
  /** A process to sample CPU and RSS of (from /proc), e.g. the loader's. */
  pid: number | undefined;
  /** Interval between two samples of `pid`. */
  sampleMs: number;
  /**
   * TLS files of a grpcs:// or https:// target: a CA to trust (default Node's bundled roots), and a
   * client certificate and key for mutual TLS (client-tls.ts). Refused with a plaintext target.
   */
  tls: ClientTlsFiles;
  /** Sign every call with this access key (a loader with `[auth] mode = "aksk"`); absent: unsigned. */
  credentials?: AkSkCredentials | undefined;
  /** Aborting stops starting calls; those in flight finish and the report covers what ran. */
  signal?: AbortSignal | undefined;
}

/** Options with every defaulted field optional: what a caller must at least give. */
export type XtestOptionsInput = Pick<XtestOptions, 'target' | 'service'> & Partial<Omit<XtestOptions, 'target' | 'service'>>;

/** Calls made when neither a count nor a duration is given. */
export const DEFAULT_REQUESTS = 100;

function positiveInt(value: number | undefined, name: string, min = 1): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) {
    throw invalidOption(`${name} must be an integer of at least ${min}, got ${value}`);
  }
}

/** Fills in defaults and checks every value; throws XTEST_INVALID_OPTION naming the option. */
export function resolveOptions(input: XtestOptionsInput): XtestOptions {
  const o: XtestOptions = {
    mode: 'once',
    concurrency: 1,
    requests: undefined,
    durationMs: undefined,
    rampUpMs: 0,
    inputs: [],
    params: {},
    frameBytes: undefined,
    frameIntervalMs: 0,
    timeoutMs: undefined,
    pid: undefined,
    sampleMs: 1000,
    ...input,
    tls: input.tls ?? {},
  };
  if (o.service === '') throw invalidOption('service must not be empty');
  if (o.mode !== 'once' && o.mode !== 'session') throw invalidOption(`mode must be once or session, got "${String(o.mode)}"`);
  if (o.requests !== undefined && o.durationMs !== undefined) {
    throw invalidOption('give a request count or a duration, not both');
  }
  if (o.requests === undefined && o.durationMs === undefined) o.requests = DEFAULT_REQUESTS;
  positiveInt(o.concurrency, 'concurrency');
  positiveInt(o.requests, 'requests');
  positiveInt(o.durationMs, 'duration (ms)');
  positiveInt(o.rampUpMs, 'ramp-up (ms)', 0);
  positiveInt(o.frameBytes, 'frame bytes');
  positiveInt(o.frameIntervalMs, 'frame interval (ms)', 0);
  positiveInt(o.timeoutMs, 'timeout (ms)');
  positiveInt(o.pid, 'pid');
  positiveInt(o.sampleMs, 'sample interval (ms)', 10);
  if (o.mode === 'once' && (o.frameBytes !== undefined || o.frameIntervalMs > 0)) {
    throw invalidOption('frame bytes and frame interval apply to session mode only (--mode session)');
  }
  checkTarget(o.target, XtestCodes.INVALID_OPTION);
  if (hasTlsFiles(o.tls) && !isSecure(o.target)) {
    throw invalidOption('--ca-file, --cert-file and --key-file are for TLS: give a grpcs:// or https:// target');
  }
  return o;
}

function isSecure(target: XtestTarget): boolean {
  return target.protocol === 'grpc' ? parseGrpcTarget(target.address).tls : target.url.startsWith('https:');
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration with a unit: `500ms`, `10s`, `1.5m`, `1h` → milliseconds. */
export function parseDuration(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (m === null) throw invalidOption(`${name} expects a duration such as 500ms, 10s or 2m, got "${text}"`);
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
}
