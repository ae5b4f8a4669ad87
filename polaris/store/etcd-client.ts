/**
 * The etcd3 client polaris uses, tuned to notice an etcd outage quickly and to come back soon
 * after etcd does: unary calls carry a deadline, there is no per-host circuit breaker (etcd3's
 * default keeps a recovered etcd shut out for 5 s), and watch and channel reconnects back off to at
 * most one second instead of 30 s and 2 min.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';

export interface EtcdConnectOptions {
  /** http:// or https:// URLs. */
  endpoints: readonly string[];
  ca_file?: string | undefined;
  cert_file?: string | undefined;
  key_file?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Deadline of each unary call (default 3000 ms). */
  callTimeoutMs?: number;
}

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;
type Backoff = NonNullable<FaultHandling['watchBackoff']>;

const MAX_RECONNECT_MS = 1_000;

/** Runs each call straight through: failures surface to the global retry policy and the caller. */
const passThrough = {
  execute: (fn: (context: { signal: AbortSignal }) => unknown, signal?: AbortSignal) =>
    Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal })),
} as unknown as HostPolicy;

/** Exponential watch-reconnect backoff: 100 ms doubling to MAX_RECONNECT_MS. */
function backoff(duration: number): Backoff {
  return {
    duration,
    next: () => backoff(Math.min(duration * 2, MAX_RECONNECT_MS)),
  } as Backoff;
}

export function connectEtcd(options: EtcdConnectOptions): Etcd3 {
  const callTimeoutMs = options.callTimeoutMs ?? 3_000;
  const etcdOptions: IOptions = {
    hosts: [...options.endpoints],
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => passThrough,
      // NOTE: the first duration etcd3 uses is `watchBackoff.next()`.
      watchBackoff: { duration: 0, next: () => backoff(100) } as Backoff,
    },
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_MS,
    },
  };
  if (options.ca_file !== undefined || options.cert_file !== undefined) {
    etcdOptions.credentials = {
      // NOTE: grpc-js takes null for "the system's roots"; etcd3's type insists on a Buffer.
      rootCertificate: (options.ca_file === undefined ? null : readFileSync(options.ca_file)) as Buffer,
      ...(options.key_file === undefined ? {} : { privateKey: readFileSync(options.key_file) }),
      ...(options.cert_file === undefined ? {} : { certChain: readFileSync(options.cert_file) }),
    };
  }
  if (options.username !== undefined) etcdOptions.auth = { username: options.username, password: options.password ?? '' };
  return new Etcd3(etcdOptions);
}
