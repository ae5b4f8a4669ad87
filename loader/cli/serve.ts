/**
 * `aiges serve`: builds the config (file, env, flags), finds the plugin, starts a loader, and stops
 * it gracefully on SIGTERM/SIGINT. Exit 2: the config is invalid; exit 1: the plugin is not found
 * (before any port is bound) or fails to load or init. Either way one `aiges serve: …` line on
 * stderr, the stack only at log level debug (cli/fail.ts). It owns the process, so it installs
 * the fault handlers (faults.ts): a plugin's unhandled rejection or uncaught exception is logged
 * and counted and the loader serves on; one of the loader's own stops it gracefully (drain, fini)
 * and exits with EXIT_LOADER_FAULT. With `[server.tls]`, SIGHUP reads the certificate files again
 * (lib/tls-files.ts).
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, keyPath, loadConfig, parseScalar, setPath } from '../config/load.js';
import type { LoaderConfig } from '../config/schema.js';
import { resolveTarget } from '../config/target.js';
import { describe, watchProcessFaults } from '../faults.js';
import { Loader } from '../loader.js';
import { loadOptions } from '../plane.js';
import { locatePlugin } from '../plugin/repository.js';
import { scanRepository } from '../models/repository.js';
import { isDebug, printError } from './fail.js';
import { examples } from './help.js';

/** The exit status after a fault of the loader's own (EX_SOFTWARE): 1 is a failed start, 2 a bad config. */
export const EXIT_LOADER_FAULT = 70;

interface ServeFlags {
  config?: string;
  host?: string;
  grpcPort?: number;
  httpPort?: number;
  capacity?: number;
  logLevel?: string;
  etcd?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsClientCaFile?: string;
  modelRepository?: string;
  set: string[];
}

export function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** "limits.capacity=8" → { limits: { capacity: 8 } }; "server.tls.cert_file=c.pem" → { server: { tls: { cert_file } } } */
function setOverride(tree: Record<string, Record<string, unknown>>, assignment: string): void {
  const m = /^([a-z_]+)\.([A-Za-z0-9_.-]+)=(.*)$/s.exec(assignment);
  if (m === null) throw new ConfigError(`--set expects section.key=value, got "${assignment}"`);
  const [, section, key, value] = m as unknown as [string, string, string, string];
  setPath(tree, keyPath(section, key, '.'), parseScalar(value));
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('Serve a wrapper plugin, or a folder of ONNX models, over gRPC (aiges.v1, V2) and HTTP.')
    .argument('[plugin]', 'plugin module or folder (else [plugin] path from the config)')
    .option('-c, --config <file>', 'TOML config file (default: $AIGES_CONFIG, else <plugin folder>/aiges.toml)')
    .option('--host <host>', 'interface to bind')
    .option('--grpc-port <n>', 'gRPC port (0 picks a free port and logs it)', intArg)
    .option('--http-port <n>', 'HTTP port (0 picks a free port and logs it)', intArg)
    .option('--capacity <n>', 'once calls plus sessions admitted at a time', intArg)
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent')
    .option('--etcd <endpoints>', 'register in polaris: etcd endpoints, comma-separated (sets [polaris] endpoints)')
    .option('--tls-cert-file <file>', 'TLS on both ports: certificate chain (PEM) ([server.tls] cert_file)')
    .option('--tls-key-file <file>', 'TLS: private key of the certificate (PEM)')
    .option('--tls-client-ca-file <file>', 'mutual TLS: clients must present a certificate of this CA (PEM)')
    .option('--model-repository <dir>', 'serve the ONNX models of this folder, <dir>/<model>/<version>/model.onnx ([repository] path)')
    .option('--set <section.key=value>', 'set any config key (repeatable)', collect, [])
    .addHelpText(
      'after',
      '\nPrecedence: defaults < config file < AIGES_<SECTION>_<KEY> environment < flags.\n' +
        examples(
          'aiges serve demo/echo --grpc-port 5090 --http-port 8080',
          'aiges serve --config my-plugins/wc/aiges.session.toml --log-level debug',
          'aiges serve demo/echo --etcd http://127.0.0.1:2379      # and register in polaris',
          'aiges serve demo/echo --tls-cert-file loader.pem --tls-key-file loader.key   # TLS; SIGHUP re-reads the files',
          'aiges serve --model-repository models/     # ONNX models with no code (docs/models.md)',
          'aiges serve model.onnx                      # one ONNX model',
        ),
    )
    .action(async (plugin: string | undefined, flags: ServeFlags) => {
      await serve(plugin, flags);
    });
}

/** How often a loader started through npm checks that npm is still there. */
const NPM_PARENT_POLL_MS = 1000;

/**
 * `npx aiges serve … & kill $!` and `npm run serve` signal npm, which does not pass the signal on
 * to the loader behind its shell; the loader would keep its ports. Started by npm exec or npm run,
 * the loader watches for being re-parented (npm gone) and stops as if signalled.
 */
function stopWithNpm(stop: () => void): void {
  const command = process.env['npm_command'];
  if (command !== 'exec' && command !== 'run' && command !== 'run-script') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, NPM_PARENT_POLL_MS);
  timer.unref();
}

async function serve(plugin: string | undefined, flags: ServeFlags): Promise<void> {
  let config: LoaderConfig;
  try {
    const overrides: Record<string, Record<string, unknown>> = {};
    for (const assignment of flags.set) setOverride(overrides, assignment);
    const put = (section: string, key: string, value: unknown) => {
      if (value !== undefined) setPath(overrides, keyPath(section, key, '.'), value);
    };
    const target = resolveTarget(plugin, flags.config ?? process.env['AIGES_CONFIG']);
    put('plugin', 'path', target.pluginPath);
    put('server', 'host', flags.host);
    put('server', 'grpc_port', flags.grpcPort);
    put('server', 'http_port', flags.httpPort);
    put('limits', 'capacity', flags.capacity);
    put('log', 'level', flags.logLevel);
    put('polaris', 'endpoints', flags.etcd);
    put('server', 'tls.cert_file', flags.tlsCertFile);
    put('server', 'tls.key_file', flags.tlsKeyFile);
    put('server', 'tls.client_ca_file', flags.tlsClientCaFile);
    put('repository', 'path', flags.modelRepository);
    config = loadConfig({ file: target.config, env: process.env, overrides });
  } catch (err) {
    printError('serve', err, flags.logLevel);
    process.exit(2);
  }
  // Find the plugin before anything binds a port: a wrong path fails here, with nothing to undo.
  try {
    if (config.repository === undefined || config.plugin.path !== undefined) {
      const { path, kind } = loadOptions(config);
      locatePlugin(path, kind);
    }
    if (config.repository !== undefined) scanRepository(config.repository.path);
  } catch (err) {
    printError('serve', err, config.log.level);
    process.exit(1);
  }
  let loader: Loader;
  try {
    loader = new Loader(config);
  } catch (err) {
    printError('serve', err, config.log.level);
    process.exit(2);
  }

  let faulted = false;
  watchProcessFaults({ log: loader.log, faults: loader.faults, pluginCode: () => loader.registry.pluginCode() }, (error, kind) => {
    loader.log.fatal({ err: error, kind }, `loader fault (${kind.replace('_', ' ')}): ${describe(error)}; stopping`);
    if (faulted) process.exit(EXIT_LOADER_FAULT); // a second one, during the stop
    faulted = true;
    loader.stop().then(
      () => process.exit(EXIT_LOADER_FAULT),
      () => process.exit(EXIT_LOADER_FAULT),
    );
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      loader.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    loader.log.info({ signal }, 'stopping');
    loader.stop().then(
      () => process.exit(faulted ? EXIT_LOADER_FAULT : 0),
      (err: unknown) => {
        printError('serve', new Error(`stop failed: ${(err as Error).message}`, { cause: err }), config.log.level);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // NOTE: only with TLS: SIGHUP then means "read the certificates again" (as for nginx), no longer a hangup.
  if (loader.config.server.tls !== undefined) process.on('SIGHUP', () => loader.reloadTls());
  stopWithNpm(() => {
    loader.log.info('the npm process that started this loader exited');
    onSignal('SIGHUP');
  });

  try {
    await loader.start();
  } catch (err) {
    // The readable line first; the log line carries the stack only when debugging.
    printError('serve', err, config.log.level);
    const message = `startup failed: ${(err as Error).message}`;
    if (isDebug(config.log.level)) loader.log.fatal({ err }, message);
    else loader.log.fatal(message);
    await loader.stop().catch(() => undefined);
    process.exit(1);
  }
}
