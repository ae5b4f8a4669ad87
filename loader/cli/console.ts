/**
 * `aiges console`: the polaris web console (docs/console.md) — the fleet's instances and their
 * live load, per-service call figures, config history / push / gray release / rollback, and the
 * access keys — served until SIGTERM/SIGINT. Logs JSON lines on stdout like `aiges lb`
 * ("console listening" carries the port).
 *
 * Login: `--operator-token-file` and `--viewer-token-file` (one token a line) give the two roles;
 * `--anonymous` lets every visitor in as a viewer. etcd as for every polaris verb: --etcd, TLS and
 * credentials from AIGES_POLARIS_* (polaris-flags.ts). The loaders are read as `aiges services ls`
 * reads them: their load over gRPC (TLS with --ca-file, signed with --access-key), their /metrics
 * and readiness over HTTP.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { createLogger } from '../log.js';
import { credentialOptions } from '../tools/credentials.js';
import { loadConsoleAssets } from '../tools/console/assets.js';
import { ConsoleAuth, parseTokenFile } from '../tools/console/auth.js';
import { ConsoleCodes, consoleError } from '../tools/console/errors.js';
import { createConsole } from '../tools/console/console.js';
import { DEFAULT_SCRAPE_INTERVAL_MS } from '../tools/console/service-metrics.js';
import { printError } from './fail.js';
import { examples } from './help.js';
import { listenArg } from './lb.js';
import { openPolaris } from './polaris-flags.js';
import { intArg } from './serve.js';
import { type InstanceClientFlags, instanceClient } from './services.js';

export const CONSOLE_PORT = 8090;

interface ConsoleFlags extends InstanceClientFlags {
  etcd?: string;
  listen: { host: string; port: number };
  anonymous: boolean;
  operatorTokenFile?: string;
  viewerTokenFile?: string;
  secureCookie: boolean;
  scrapeIntervalMs: number;
  pushTimeoutMs?: number;
}

function tokens(file: string | undefined): string[] {
  if (file === undefined) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw consoleError(ConsoleCodes.BAD_ARGUMENT, `cannot read ${file}: ${(err as Error).message}`);
  }
  const found = parseTokenFile(text);
  if (found.length === 0) throw consoleError(ConsoleCodes.BAD_ARGUMENT, `${file} holds no token (one a line)`);
  if (found.some((t) => t.length < 16)) throw consoleError(ConsoleCodes.BAD_ARGUMENT, `${file}: every token needs 16 characters or more`);
  return found;
}

export function consoleCommand(): Command {
  const command = new Command('console')
    .description('Serve the polaris web console: instances and live load, call figures, config push/gray/rollback, access keys.')
    .option('--etcd <endpoints>', 'etcd endpoints, comma-separated (default: $AIGES_POLARIS_ENDPOINTS or http://127.0.0.1:2379)')
    .addOption(
      new Option('--listen <host:port>', 'where to serve the page (port 0 picks a free one and logs it)')
        .argParser(listenArg)
        .default({ host: '0.0.0.0', port: CONSOLE_PORT }, `0.0.0.0:${CONSOLE_PORT}`),
    )
    .option('--operator-token-file <file>', 'tokens (one a line, 16+ characters) that log in as operator: sees and changes everything')
    .option('--viewer-token-file <file>', 'tokens that log in as viewer: sees everything, changes nothing')
    .option('--anonymous', 'let visitors without a login in as viewers (a local or dashboard view)', false)
    .option('--secure-cookie', 'mark the session cookie Secure (the page is reached over HTTPS, e.g. through an ingress)', false)
    .option(
      '--scrape-interval-ms <n>',
      "how often to read every loader's /metrics for the call figures",
      intArg,
      DEFAULT_SCRAPE_INTERVAL_MS,
    )
    .option('--push-timeout-ms <n>', 'how long the instances have to apply a pushed version (default: as aiges config push)', intArg)
    .option('--ca-file <file>', "instances registered with TLS: CA bundle (PEM) to trust (default: Node's roots)");
  return credentialOptions(command)
    .addHelpText(
      'after',
      '\nTLS and auth to etcd: AIGES_POLARIS_CA_FILE, _CERT_FILE, _KEY_FILE, _USERNAME, _PASSWORD.\n' +
        examples(
          'aiges console --etcd http://127.0.0.1:2379 --listen 127.0.0.1:8090 --anonymous',
          'aiges console --operator-token-file ops.tokens --viewer-token-file view.tokens',
        ),
    )
    .action(async (flags: ConsoleFlags) => {
      await runConsole(flags);
    });
}

async function runConsole(flags: ConsoleFlags): Promise<void> {
  const log = createLogger('info');
  let auth: ConsoleAuth;
  let assets: ReturnType<typeof loadConsoleAssets>;
  let open: ReturnType<typeof instanceClient>;
  let ca: Buffer | undefined;
  try {
    if (!flags.anonymous && flags.operatorTokenFile === undefined && flags.viewerTokenFile === undefined) {
      throw consoleError(ConsoleCodes.BAD_ARGUMENT, 'nobody could log in: give --operator-token-file, --viewer-token-file or --anonymous');
    }
    auth = new ConsoleAuth({
      operatorTokens: tokens(flags.operatorTokenFile),
      viewerTokens: tokens(flags.viewerTokenFile),
      anonymous: flags.anonymous,
    });
    assets = loadConsoleAssets();
    open = instanceClient(flags, ConsoleCodes.BAD_ARGUMENT);
    ca = flags.caFile === undefined ? undefined : readFileSync(flags.caFile);
  } catch (err) {
    printError('console', err);
    process.exit(2);
  }
  const polaris = openPolaris({ ...(flags.etcd === undefined ? {} : { etcd: flags.etcd }) });
  const served = await createConsole({
    polaris,
    auth,
    open,
    assets,
    scrapeIntervalMs: flags.scrapeIntervalMs,
    secureCookie: flags.secureCookie,
    ...(ca === undefined ? {} : { ca }),
    ...(flags.pushTimeoutMs === undefined ? {} : { pushTimeoutMs: flags.pushTimeoutMs }),
  });

  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping');
    void served
      .close()
      .then(() => polaris.close())
      .finally(() => log.flush(() => process.exit(0)));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  let port: number;
  try {
    await served.start();
    await served.app.listen({ host: flags.listen.host, port: flags.listen.port });
    const address = served.app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : flags.listen.port;
  } catch (err) {
    printError('console', err);
    await served.close().catch(() => undefined);
    await polaris.close().catch(() => undefined);
    process.exit(1);
  }
  log.info(
    {
      host: flags.listen.host,
      port,
      etcd: flags.etcd ?? process.env['AIGES_POLARIS_ENDPOINTS'] ?? 'http://127.0.0.1:2379',
      anonymous: flags.anonymous,
    },
    'console listening',
  );
}
