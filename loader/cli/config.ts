/**
 * `aiges config push|get|history|rollback|status`: the polaris config center from the command line.
 * A pushed file may hold only [wrapper], [limits] and [log] and must pass the loader's config schema;
 * it is refused before anything is stored otherwise. A push is a rollout (polaris/store/rollout.ts):
 * `push` waits for its outcome by default, prints what each instance did, and exits 1 when the
 * version failed (it then never becomes current).
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ROLLOUT_TIMEOUT_MS } from '../../polaris/store/rollout.js';
import type { ConfigVersion } from '../../polaris/store/types.js';
import { awaitRollout, configStatus, triedOn } from '../../polaris/client/config-view.js';
import { examples } from './help.js';
import { polarisVerb, printJson, printTable, withPolaris, type PolarisFlags } from './polaris-flags.js';

function versionArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a version number (1, 2, ...)');
  return n;
}

function msArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive number of milliseconds');
  return n;
}

function readPushed(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

const target = (v: ConfigVersion) => (v.instance === undefined ? 'all instances' : `instance ${v.instance}`);

interface PushFlags extends PolarisFlags {
  instance?: string;
  note?: string;
  wait: boolean;
  timeoutMs: number;
}

function push(): Command {
  return polarisVerb(
    'push',
    'Validate a config file ([wrapper], [limits], [log]) and roll it out: tried on the instances, current only if every one applied it.',
  )
    .argument('<service>', 'service name')
    .argument('<file>', 'TOML file')
    .option('--instance <id>', 'try the new version on this instance only (gray release)')
    .option('--note <text>', 'free text kept with the version (who, why)')
    .option('--timeout-ms <n>', 'how long the instances have to apply it before it fails', msArg, ROLLOUT_TIMEOUT_MS)
    .option('--no-wait', 'start the rollout and return (the instances decide it; see `aiges config status`)')
    .addHelpText(
      'after',
      examples(
        'aiges config push echo tuned.toml --note "capacity 128"     # waits; exit 1 if an instance failed',
        'aiges config push echo canary.toml --instance host-1234-ab12cd   # gray release to one instance',
      ),
    )
    .action(async (service: string, file: string, flags: PushFlags) => {
      await withPolaris('config push', flags, async (polaris) => {
        const options = {
          ...(flags.instance === undefined ? {} : { instance: flags.instance }),
          note: flags.note ?? '',
          timeoutMs: flags.timeoutMs,
        };
        const started = await polaris.config.push(service, readPushed(file), options);
        if (!flags.wait) {
          if (flags.json) return printJson(started);
          return void process.stdout.write(`${service}: rollout of config version ${started.version} started (${target(started)})\n`);
        }
        const version = await awaitRollout(polaris, service, started);
        const tried = await triedOn(polaris, service, version);
        if (flags.json) printJson({ ...version, instances: tried });
        else {
          const outcome =
            version.state === 'good'
              ? `now current (${target(version)})`
              : version.state === 'failed'
                ? `FAILED, not made current: ${version.failure ?? ''}`
                : 'still on trial';
          process.stdout.write(`${service}: config version ${version.version} ${outcome}\n`);
          if (tried.length > 0) {
            printTable(
              ['INSTANCE', 'RESULT', 'RUNNING'],
              tried.map((t) => [t.instance, t.result, t.running === null ? 'startup config' : String(t.running)]),
            );
          }
        }
        if (version.state !== 'good') process.exitCode = 1;
      });
    });
}

function get(): Command {
  return polarisVerb('get', 'Print the config version a service (or one instance) runs, or a given version.')
    .argument('<service>', 'service name')
    .option('--version <n>', 'this version instead', versionArg)
    .option('--instance <id>', 'the version this instance should run (its gray override, else current)')
    .addHelpText('after', examples('aiges config get echo', 'aiges config get echo --version 3 --json'))
    .action(async (service: string, flags: PolarisFlags & { version?: number; instance?: string }) => {
      await withPolaris('config get', flags, async (polaris) => {
        const options = {
          ...(flags.version === undefined ? {} : { version: flags.version }),
          ...(flags.instance === undefined ? {} : { instance: flags.instance }),
        };
        const version = await polaris.config.get(service, options);
        if (version === undefined) {
          throw new Error(
            flags.version === undefined ? `${service} has no config version yet` : `${service} has no config version ${flags.version}`,
          );
        }
        if (flags.json) printJson(version);
        else
          process.stdout.write(
            `# ${service} config version ${version.version} (${target(version)}), ${version.createdAt}${version.note ? `: ${version.note}` : ''}\n${version.toml}${version.toml.endsWith('\n') ? '' : '\n'}`,
          );
      });
    });
}

function history(): Command {
  return polarisVerb('history', 'List every stored config version of a service and its state; * marks the current one.')
    .argument('<service>', 'service name')
    .addHelpText('after', examples('aiges config history echo', 'aiges config history echo --etcd http://127.0.0.1:2379 --json'))
    .action(async (service: string, flags: PolarisFlags) => {
      await withPolaris('config history', flags, async (polaris) => {
        const [versions, current] = await Promise.all([polaris.config.history(service), polaris.config.current(service)]);
        if (flags.json) return printJson({ service, current: current?.version ?? null, versions });
        if (versions.length === 0) return void process.stdout.write(`${service} has no config versions\n`);
        printTable(
          ['', 'VERSION', 'STATE', 'CREATED', 'TARGET', 'NOTE'],
          versions.map((v) => [
            v.version === current?.version ? '*' : '',
            String(v.version),
            v.state === 'failed' ? `failed: ${v.failure ?? ''}` : (v.state ?? 'good'),
            v.createdAt,
            target(v),
            v.note,
          ]),
        );
      });
    });
}

function rollback(): Command {
  return polarisVerb('rollback', 'Point every instance of a service back at an earlier version (clears gray overrides).')
    .argument('<service>', 'service name')
    .argument('<version>', 'version to run', versionArg)
    .addHelpText('after', examples('aiges config rollback echo 3'))
    .action(async (service: string, version: number, flags: PolarisFlags) => {
      await withPolaris('config rollback', flags, async (polaris) => {
        await polaris.config.rollback(service, version);
        if (flags.json) printJson({ service, current: version });
        else process.stdout.write(`${service}: every instance now runs config version ${version}\n`);
      });
    });
}

function status(): Command {
  return polarisVerb('status', 'What each live instance runs, what it was pointed at, and what its last try of a version did.')
    .argument('<service>', 'service name')
    .addHelpText('after', examples('aiges config status echo', 'aiges config status echo --json'))
    .action(async (service: string, flags: PolarisFlags) => {
      await withPolaris('config status', flags, async (polaris) => {
        const { current, instances: rows } = await configStatus(polaris, service);
        if (flags.json) return printJson({ service, current, instances: rows });
        process.stdout.write(`${service}: current config version ${current ?? 'none'}\n`);
        if (rows.length === 0) return void process.stdout.write('no live instances\n');
        printTable(
          ['INSTANCE', 'RUNNING', 'TARGET', 'LAST TRY', 'AT'],
          rows.map((r) => [
            r.instance,
            r.status === undefined ? '-' : r.running === null ? 'startup config' : String(r.running),
            r.target === null ? '-' : String(r.target),
            r.status === undefined
              ? 'no report yet'
              : r.status.ok
                ? `${r.status.version} applied`
                : `${r.status.version} failed, still on ${r.running ?? 'the startup config'}: ${r.status.error ?? ''}`,
            r.status?.appliedAt ?? '-',
          ]),
        );
      });
    });
}

export function configCommand(): Command {
  return new Command('config')
    .description('Polaris config center: versioned [wrapper]/[limits]/[log] config that running loaders hot-apply.')
    .addCommand(push())
    .addCommand(get())
    .addCommand(history())
    .addCommand(rollback())
    .addCommand(status())
    .addHelpText(
      'after',
      examples(
        'aiges config push echo tuned.toml --note "capacity 128"     # waits; exit 1 if an instance failed',
        'aiges config push echo canary.toml --instance host-1234-ab12cd   # gray release to one instance',
        'aiges config status echo',
        'aiges config rollback echo 3',
      ),
    );
}
