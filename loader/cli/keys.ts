/**
 * `aiges keys create|ls|revoke`: the fleet's AK/SK access keys in polaris, for every loader with
 * `[auth] keys_source = "polaris"` (docs/security.md). `create` prints the secret key once;
 * nothing prints it again (polaris keeps it, for the loaders to check signatures with). A revoked
 * key is refused by every loader as soon as etcd tells it (they watch the keys).
 */
import { Command, InvalidArgumentError } from 'commander';
import { newKey } from '../auth/new-key.js';
import { examples } from './help.js';
import { polarisVerb, printJson, printTable, withPolaris, type PolarisFlags } from './polaris-flags.js';

interface CreateFlags extends PolarisFlags {
  accessKey?: string;
  services?: string;
  rate?: number;
  burst?: number;
  relay?: boolean;
  note: string;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function keysCommand(): Command {
  const create = polarisVerb('create', 'Create an access key and print its secret key (the only time it is shown).')
    .option('--access-key <name>', 'the access key (default: "AK" and 20 random characters)')
    .option('--services <list>', 'comma-separated services it may call (default: every service)')
    .option('--rate <n>', 'calls per second it may make on each loader (token bucket; default: no limit)', positive)
    .option('--burst <n>', 'calls it may make at once after idling (default: --rate)', positive)
    .option('--relay', "a balancer's key (aiges lb --access-key): it relays the calls it checked, and calls no service itself")
    .option('--note <text>', 'whose key, what for', '')
    .addHelpText(
      'after',
      examples(
        'aiges keys create --services echo --rate 50 --note "team A"',
        'aiges keys create --json > ak1.json',
        'aiges keys create --access-key lb1 --relay --note "aiges lb"',
      ),
    )
    .action(async (flags: CreateFlags) => {
      await withPolaris('keys create', flags, async (polaris) => {
        const { services, ...rest } = flags;
        const key = newKey(
          { ...rest, ...(services === undefined ? {} : { services: services.split(',').map((s) => s.trim()) }) },
          '--access-key',
        );
        await polaris.keys.create(key);
        if (flags.json) return printJson(key);
        process.stdout.write(`access key  ${key.accessKey}\nsecret key  ${key.secretKey}\n`);
        process.stderr.write('The secret key is shown this once: store it now (aiges keys ls never shows it).\n');
      });
    });

  const ls = polarisVerb('ls', 'List the access keys, never their secret keys.')
    .addHelpText('after', examples('aiges keys ls', 'aiges keys ls --json --etcd http://10.0.0.5:2379'))
    .action(async (flags: PolarisFlags) => {
      await withPolaris('keys ls', flags, async (polaris) => {
        const keys = (await polaris.keys.list()).map(({ secretKey: _secret, ...shown }) => shown);
        if (flags.json) return printJson(keys);
        if (keys.length === 0) return void process.stdout.write('no access keys\n');
        printTable(
          ['ACCESS KEY', 'SERVICES', 'RATE', 'BURST', 'RELAY', 'CREATED', 'NOTE'],
          keys.map((k) => [
            k.accessKey,
            k.services?.join(',') ?? '*',
            String(k.rate ?? '-'),
            String(k.burst ?? '-'),
            k.relay === true ? 'yes' : '-',
            k.createdAt,
            k.note,
          ]),
        );
      });
    });

  const revoke = polarisVerb('revoke', 'Revoke an access key: every loader following polaris refuses it at once.')
    .argument('<access-key>', 'the access key')
    .addHelpText('after', examples('aiges keys revoke AKx1y2z3'))
    .action(async (accessKey: string, flags: PolarisFlags) => {
      await withPolaris('keys revoke', flags, async (polaris) => {
        if (!(await polaris.keys.revoke(accessKey))) throw new Error(`no access key "${accessKey}"`);
        if (flags.json) return printJson({ revoked: accessKey });
        process.stdout.write(`revoked ${accessKey}\n`);
      });
    });

  return new Command('keys')
    .description('AK/SK access keys in polaris, for loaders with [auth] keys_source = "polaris".')
    .addCommand(create)
    .addCommand(ls)
    .addCommand(revoke)
    .addHelpText('after', examples('aiges keys create --services echo', 'aiges keys ls', 'aiges keys revoke AKx1y2z3'));
}
