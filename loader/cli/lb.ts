/**
 * `aiges lb`: runs the balancer (polaris/balancer/balancer.ts) in front of the loaders registered in
 * polaris, until SIGTERM/SIGINT; then it stops taking calls and lets those in flight finish.
 * Logs JSON lines on stdout like `aiges serve` ("balancer listening" carries the port).
 *
 * TLS: --tls-* on the front (the names of a loader's [server.tls] keys), --upstream-* to loaders
 * that register `tls: true`. SIGHUP reads every TLS file again (they are also checked every second).
 *
 * AK/SK: --auth aksk checks every call's signature at the edge, with the keys of polaris (`aiges
 * keys`, watched) or of --auth-keys-file (a loader's keys file, polled); --access-key/--secret-key
 * (or $AIGES_ACCESS_KEY/$AIGES_SECRET_KEY) is the balancer's own key, `relay = true`, which signs
 * every hop to a loader with `[auth]` (docs/security.md).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { AkSkAuth } from '../auth/aksk.js';
import { KeysFile, type KeySource } from '../auth/keys.js';
import { PolarisKeys } from '../auth/keys-polaris.js';
import { AuthSection } from '../config/schema.js';
import { AuthCounts } from '../metrics.js';
import { credentialOptions, credentialsOf } from '../tools/credentials.js';
import { EdgeAuth, HopSigner } from '../../polaris/balancer/edge-auth.js';
import { createLogger, type Logger } from '../log.js';
import { TlsFiles } from '../lib/tls-files.js';
import { Balancer, MAX_MESSAGE_BYTES, SESSION_OPEN_TIMEOUT_MS } from '../../polaris/balancer/balancer.js';
import type { EtcdPolaris } from '../../polaris/store/polaris-etcd.js';
import { printError } from './fail.js';
import { examples } from './help.js';
import { openPolaris } from './polaris-flags.js';
import { intArg } from './serve.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type Level = (typeof LEVELS)[number];

interface LbFlags {
  etcd?: string;
  listen: { host: string; port: number };
  service: string[];
  logLevel: Level;
  drainGraceMs: number;
  maxMessageBytes: number;
  /** commander sets it false for --no-relay. */
  relay: boolean;
  sessionOpenTimeoutMs: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsClientCaFile?: string;
  upstreamCaFile?: string;
  upstreamCertFile?: string;
  upstreamKeyFile?: string;
  auth: 'none' | 'aksk';
  authKeysFile?: string;
  accessKey?: string;
  secretKey?: string;
}

/** "host:port", "[v6]:port" or ":port" (all interfaces). */
export function listenArg(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = Number(m?.[3]);
  if (m === null || !Number.isInteger(port) || port > 65535) throw new InvalidArgumentError('expects host:port (e.g. 0.0.0.0:5080)');
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function levelArg(value: string): Level {
  if (!(LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${LEVELS.join('|')}`);
  return value as Level;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function lbCommand(): Command {
  const command = new Command('lb')
    .description('Balance aiges.v1 and V2 gRPC calls over the loaders registered in polaris (least loaded, sessions sticky).')
    .option('--etcd <endpoints>', 'etcd endpoints, comma-separated (default: $AIGES_POLARIS_ENDPOINTS or http://127.0.0.1:2379)')
    .addOption(
      new Option('--listen <host:port>', 'where to listen (port 0 picks a free one and logs it)')
        .argParser(listenArg)
        .default({ host: '0.0.0.0', port: 5080 }, '0.0.0.0:5080'),
    )
    .addOption(
      new Option('--service <name>', 'a service to front (repeatable)').argParser(collect).default([], 'any service a request names'),
    )
    .option('--log-level <level>', LEVELS.join('|'), levelArg, 'info' as Level)
    .option('--drain-grace-ms <n>', 'at stop, how long calls in flight may take', intArg, 10_000)
    .option(
      '--max-message-bytes <n>',
      'largest request message carried (10201 above; loaders apply their own limit too)',
      intArg,
      MAX_MESSAGE_BYTES,
    )
    .option(
      '--session-open-timeout-ms <n>',
      'how long a session stream may take to send its open message (it names the service the call is routed by)',
      intArg,
      SESSION_OPEN_TIMEOUT_MS,
    )
    .option(
      '--no-relay',
      'forward every once call as an HTTP/2 stream of its own (default: small ones share one Relay stream per instance)',
    )
    .option('--tls-cert-file <file>', 'TLS on the front: certificate chain (PEM), with --tls-key-file')
    .option('--tls-key-file <file>', 'TLS on the front: private key (PEM)')
    .option('--tls-client-ca-file <file>', 'mutual TLS on the front: clients must present a certificate of this CA (PEM)')
    .option('--upstream-ca-file <file>', "loaders registered with TLS: CA bundle to trust (default: Node's bundled roots)")
    .option('--upstream-cert-file <file>', 'loaders that require client certificates: this certificate (PEM), with --upstream-key-file')
    .option('--upstream-key-file <file>', 'its private key (PEM)')
    .addOption(
      new Option('--auth <mode>', "aksk: check every call's AK/SK signature at the edge (keys: polaris, or --auth-keys-file)")
        .choices(['none', 'aksk'])
        .default('none'),
    )
    .option('--auth-keys-file <file>', "with --auth aksk: the keys of this file (a loader's [auth] keys_file) instead of polaris");
  return credentialOptions(command)
    .addHelpText(
      'after',
      '\nTLS and auth to etcd: AIGES_POLARIS_CA_FILE, _CERT_FILE, _KEY_FILE, _USERNAME, _PASSWORD.\n' +
        examples(
          'aiges lb --etcd http://127.0.0.1:2379 --listen 0.0.0.0:5080 --service echo',
          'aiges lb --listen 127.0.0.1:0 --log-level debug      # every service; logs the port it picked',
          'aiges lb --service echo --tls-cert-file lb.pem --tls-key-file lb.key --upstream-ca-file fleet-ca.pem   # TLS both ways',
          'aiges lb --service echo --auth aksk   # AK/SK at the edge; its own key from $AIGES_ACCESS_KEY, $AIGES_SECRET_KEY',
        ),
    )
    .action(async (flags: LbFlags) => {
      await runBalancer(flags);
    });
}

/** The front's and the upstream TLS files of the flags (undefined where none is given); throws on a bad file. */
function tlsOf(flags: LbFlags, log: Logger): { tls?: TlsFiles; upstreamTls?: TlsFiles } {
  const front = { certFile: flags.tlsCertFile, keyFile: flags.tlsKeyFile, caFile: flags.tlsClientCaFile };
  const upstream = { certFile: flags.upstreamCertFile, keyFile: flags.upstreamKeyFile, caFile: flags.upstreamCaFile };
  if (front.certFile === undefined && (front.keyFile !== undefined || front.caFile !== undefined)) {
    throw new Error('--tls-key-file and --tls-client-ca-file need --tls-cert-file');
  }
  const given = (paths: object) => Object.values(paths).some((v) => v !== undefined);
  return {
    ...(given(front) ? { tls: TlsFiles.load(front, { log, name: 'balancer front' }) } : {}),
    ...(given(upstream) ? { upstreamTls: TlsFiles.load(upstream, { log, name: 'upstream' }) } : {}),
  };
}

/** The edge check and the hop signer of the flags; throws on a bad keys file or key. */
function authOf(flags: LbFlags, polaris: EtcdPolaris, log: Logger): { auth?: EdgeAuth; signer?: HopSigner } {
  if (flags.auth === 'none' && flags.authKeysFile !== undefined) throw new Error('--auth-keys-file needs --auth aksk');
  const credentials = credentialsOf(flags, 'INVALID_ARGUMENT');
  let auth: EdgeAuth | undefined;
  if (flags.auth === 'aksk') {
    const keys: KeySource = flags.authKeysFile === undefined ? new PolarisKeys(polaris.keys, log) : new KeysFile(flags.authKeysFile, log);
    auth = new EdgeAuth(new AkSkAuth(AuthSection.parse({ mode: 'aksk', keys_source: 'polaris' }), keys, log, new AuthCounts()));
  }
  return { ...(auth === undefined ? {} : { auth }), ...(credentials === undefined ? {} : { signer: new HopSigner(credentials) }) };
}

async function runBalancer(flags: LbFlags): Promise<void> {
  const log = createLogger(flags.logLevel);
  let polaris: EtcdPolaris;
  let tls: ReturnType<typeof tlsOf>;
  let auth: ReturnType<typeof authOf>;
  try {
    tls = tlsOf(flags, log);
    polaris = openPolaris({ ...(flags.etcd === undefined ? {} : { etcd: flags.etcd }) });
    auth = authOf(flags, polaris, log);
  } catch (err) {
    printError('lb', err, flags.logLevel);
    process.exit(2);
  }
  const balancer = new Balancer({
    discovery: polaris.discovery,
    services: flags.service,
    log,
    drainGraceMs: flags.drainGraceMs,
    maxMessageBytes: flags.maxMessageBytes,
    relay: flags.relay,
    sessionOpenTimeoutMs: flags.sessionOpenTimeoutMs,
    ...tls,
    ...auth,
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'stopping');
    void balancer
      .stop()
      .then(() => polaris.close())
      .then(
        () => log.flush(() => process.exit(0)),
        (err: unknown) => {
          printError('lb', new Error(`stop failed: ${(err as Error).message}`, { cause: err }), flags.logLevel);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // NOTE: only with TLS: SIGHUP then means "read the certificates again", no longer a hangup.
  if (tls.tls !== undefined || tls.upstreamTls !== undefined) {
    process.on('SIGHUP', () => {
      tls.tls?.reload();
      tls.upstreamTls?.reload();
    });
  }

  try {
    await balancer.start(flags.listen.host, flags.listen.port);
  } catch (err) {
    printError('lb', err, flags.logLevel);
    await polaris.close().catch(() => undefined);
    process.exit(1);
  }
}
