/**
 * What the polaris verbs (`aiges config …`, `aiges services …`) share: the --etcd and --json
 * options, opening Polaris from them, a plain-text table, and turning failures into one stderr line
 * and exit code 1.
 *
 * etcd endpoints: --etcd, else $AIGES_POLARIS_ENDPOINTS, else http://127.0.0.1:2379. TLS and auth
 * come from the same variables a loader reads for its [polaris] section: AIGES_POLARIS_CA_FILE,
 * AIGES_POLARIS_CERT_FILE, AIGES_POLARIS_KEY_FILE, AIGES_POLARIS_USERNAME, AIGES_POLARIS_PASSWORD.
 */
import { Command } from 'commander';
import { isEtcdRefusal } from '../../polaris/store/etcd-errors.js';
import { EtcdPolaris } from '../../polaris/store/polaris-etcd.js';
import { parseHotConfig } from '../config/hot.js';
import { PolarisSection } from '../config/schema.js';
import { printError } from './fail.js';

export const DEFAULT_ETCD = 'http://127.0.0.1:2379';

export interface PolarisFlags {
  etcd?: string;
  json?: boolean;
}

/** Adds --etcd and --json to a polaris verb. */
export function polarisVerb(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--etcd <endpoints>', `etcd endpoints, comma-separated (default: $AIGES_POLARIS_ENDPOINTS or ${DEFAULT_ETCD})`)
    .option('--json', 'print JSON instead of text');
}

/** Where etcd is and how to reach it (TLS, credentials), from --etcd and the AIGES_POLARIS_* variables. */
export function etcdSettings(flags: PolarisFlags, env: NodeJS.ProcessEnv = process.env) {
  return PolarisSection.parse({
    endpoints: flags.etcd ?? env['AIGES_POLARIS_ENDPOINTS'] ?? DEFAULT_ETCD,
    ca_file: env['AIGES_POLARIS_CA_FILE'],
    cert_file: env['AIGES_POLARIS_CERT_FILE'],
    key_file: env['AIGES_POLARIS_KEY_FILE'],
    username: env['AIGES_POLARIS_USERNAME'],
    password: env['AIGES_POLARIS_PASSWORD'],
  });
}

export function openPolaris(flags: PolarisFlags, env: NodeJS.ProcessEnv = process.env): EtcdPolaris {
  return new EtcdPolaris({ ...etcdSettings(flags, env), validateConfig: parseHotConfig });
}

/** Runs a verb's body with Polaris open; any failure is one line on stderr and exit code 1. */
export async function withPolaris(verb: string, flags: PolarisFlags, body: (polaris: EtcdPolaris) => Promise<void>): Promise<void> {
  let polaris: EtcdPolaris | undefined;
  try {
    polaris = openPolaris(flags);
    await body(polaris);
  } catch (err) {
    failVerb(verb, flags, err);
  } finally {
    await polaris?.close();
  }
}

/** A polaris verb's failure as one line on stderr and exit code 1; etcd's refusals as etcd-errors.ts words them. */
export function failVerb(verb: string, flags: PolarisFlags, err: unknown): void {
  const error = err as Error;
  // etcd3's transport errors (GRPC…, Etcd…) say little on their own: say where etcd was expected.
  const transport = !isEtcdRefusal(error) && /^(GRPC|Etcd)/.test(error.constructor.name);
  const message = transport
    ? `cannot reach etcd at ${flags.etcd ?? process.env['AIGES_POLARIS_ENDPOINTS'] ?? DEFAULT_ETCD}: ${error.message}`
    : error.message;
  printError(verb, new Error(message.replace(/[.:\s]*(Resolution note:)?\s*$/, ''), { cause: err }));
  process.exitCode = 1;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A left-aligned text table; `rows` hold strings already. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}
