/**
 * `aiges services ls [service]`: the live instances in polaris, with their registration (address,
 * capacity, labels, age) and, when a load source is wired (`fetchLoad`), their live load and
 * whether they take calls now (READY: "no" for an instance that stays registered but is not ready,
 * e.g. while its plugin process restarts after a crash, or every exec slot is stuck).
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { fetchLoad } from '../../polaris/client/load-fetch.js';
import { formatLoad, formatReady, serviceRows, type LoadSource } from '../../polaris/client/services-ls.js';
import { createLoaderClient, type LoaderClient } from '../tools/client.js';
import type { InstanceRecord } from '../../polaris/store/types.js';
import { type CredentialFlags, credentialOptions, credentialsOf } from '../tools/credentials.js';
import { examples } from './help.js';
import { polarisVerb, printJson, printTable, withPolaris, type PolarisFlags } from './polaris-flags.js';

function age(startedAt: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(startedAt)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export interface InstanceClientFlags extends CredentialFlags {
  caFile?: string;
}

interface LsFlags extends PolarisFlags, InstanceClientFlags {}

/**
 * A client of a registered instance's gRPC server: over TLS when it registered `tls` (trusting
 * --ca-file, default Node's roots), signed with the flags' key (loaders with `[auth]`). Shared with
 * `aiges console`, which follows the same instances.
 */
export function instanceClient(flags: InstanceClientFlags, invalid: string): (record: InstanceRecord) => LoaderClient {
  const credentials = credentialsOf(flags, invalid);
  const tls = flags.caFile === undefined ? undefined : { ca: readFileSync(flags.caFile) };
  return (record) =>
    record.tls === true
      ? createLoaderClient(`grpcs://${record.address}`, {}, tls, credentials)
      : createLoaderClient(record.address, {}, undefined, credentials);
}

/** Each instance's load, read as a client of it (instanceClient). */
function loadSource(fetch: typeof fetchLoad, flags: LsFlags): LoadSource {
  const open = instanceClient(flags, 'INVALID_FLAG');
  return (record) => fetch(record.address, () => open(record));
}

export function servicesCommand(options: { fetchLoad?: typeof fetchLoad } = {}): Command {
  const ls = credentialOptions(polarisVerb('ls', 'List live instances (of one service, or of all).'))
    .option('--ca-file <file>', "instances registered with TLS: CA bundle (PEM) to trust reading their load (default: Node's roots)")
    .argument('[service]', 'service name (default: every service)')
    .addHelpText(
      'after',
      '\nColumns: VERSION is the service version the instance registered with, its [polaris] service_version\n' +
        '(default "1"; not a config version: aiges config status shows those), ADDRESS its gRPC address,\n' +
        'HTTP its HTTP address, LOAD once calls + sessions / capacity now, AGE since it started.\n' +
        examples(
          'aiges services ls',
          'aiges services ls echo --etcd http://127.0.0.1:2379 --json',
          'aiges services ls --ca-file fleet-ca.pem   # TLS loaders; with [auth]: a key in $AIGES_ACCESS_KEY, $AIGES_SECRET_KEY',
        ),
    )
    .action(async (service: string | undefined, flags: LsFlags) => {
      await withPolaris('services ls', flags, async (polaris) => {
        const source = options.fetchLoad === undefined ? undefined : loadSource(options.fetchLoad, flags);
        const rows = await serviceRows(polaris.discovery, service, source);
        if (flags.json) return printJson(rows);
        if (rows.length === 0)
          return void process.stdout.write(service === undefined ? 'no live instances\n' : `no live instances of ${service}\n`);
        const withLoad = options.fetchLoad !== undefined;
        const now = Date.now();
        printTable(
          ['SERVICE', 'VERSION', 'INSTANCE', 'ADDRESS', 'HTTP', 'CAPACITY', ...(withLoad ? ['LOAD', 'READY'] : []), 'AGE', 'LABELS'],
          rows.map((r) => [
            r.service,
            r.version,
            r.id,
            r.address,
            r.httpAddress,
            String(r.capacity),
            ...(withLoad ? [formatLoad(r.load ?? null), formatReady(r.load ?? null)] : []),
            age(r.startedAt, now),
            Object.entries(r.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          ]),
        );
      });
    });
  return new Command('services')
    .description('Polaris service discovery: what is registered, where, with what load.')
    .addCommand(ls)
    .addHelpText('after', examples('aiges services ls', 'aiges services ls echo --etcd http://127.0.0.1:2379 --json'));
}
