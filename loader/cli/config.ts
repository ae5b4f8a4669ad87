/**
 * `aiges config push|get|history|rollback|status`: the polaris config center from the command line.
 * A pushed file may hold only [wrapper], [limits] and [log] and must pass the loader's config schema;
 * it is refused before anything is stored otherwise.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { ConfigVersion } from '../../polaris/store/types.js';
import { polarisVerb, printJson, printTable, withPolaris, type PolarisFlags } from './polaris-flags.js';

function versionArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a version number (1, 2, ...)');
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

function push(): Command {
  return polarisVerb('push', 'Validate a config file ([wrapper], [limits], [log]) and store it as the next version.')
    .argument('<service>', 'service name')
    .argument('<file>', 'TOML file')
    .option('--instance <id>', 'point only this instance at the new version (gray release)')
    .option('--note <text>', 'free text kept with the version (who, why)')
    .action(async (service: string, file: string, flags: PolarisFlags & { instance?: string; note?: string }) => {
      await withPolaris('config push', flags, async (polaris) => {
        const options = { ...(flags.instance === undefined ? {} : { instance: flags.instance }), note: flags.note ?? '' };
        const version = await polaris.config.push(service, readPushed(file), options);
        if (flags.json) printJson(version);
        else process.stdout.write(`pushed ${service} config version ${version.version} (${target(version)})\n`);
      });
    });
}

function get(): Command {
  return polarisVerb('get', 'Print the config version a service (or one instance) runs, or a given version.')
    .argument('<service>', 'service name')
    .option('--version <n>', 'this version instead', versionArg)
    .option('--instance <id>', 'the version this instance should run (its gray override, else current)')
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
  return polarisVerb('history', 'List every stored config version of a service; * marks the current one.')
    .argument('<service>', 'service name')
    .action(async (service: string, flags: PolarisFlags) => {
      await withPolaris('config history', flags, async (polaris) => {
        const [versions, current] = await Promise.all([polaris.config.history(service), polaris.config.get(service)]);
        if (flags.json) return printJson({ service, current: current?.version ?? null, versions });
        if (versions.length === 0) return void process.stdout.write(`${service} has no config versions\n`);
        printTable(
          ['', 'VERSION', 'CREATED', 'TARGET', 'NOTE'],
          versions.map((v) => [v.version === current?.version ? '*' : '', String(v.version), v.createdAt, target(v), v.note]),
        );
      });
    });
}

function rollback(): Command {
  return polarisVerb('rollback', 'Point every instance of a service back at an earlier version (clears gray overrides).')
    .argument('<service>', 'service name')
    .argument('<version>', 'version to run', versionArg)
    .action(async (service: string, version: number, flags: PolarisFlags) => {
      await withPolaris('config rollback', flags, async (polaris) => {
        await polaris.config.rollback(service, version);
        if (flags.json) printJson({ service, current: version });
        else process.stdout.write(`${service}: every instance now runs config version ${version}\n`);
      });
    });
}

function status(): Command {
  return polarisVerb('status', 'Which live instance applied which config version, or the error it hit.')
    .argument('<service>', 'service name')
    .action(async (service: string, flags: PolarisFlags) => {
      await withPolaris('config status', flags, async (polaris) => {
        const [current, statuses, instances] = await Promise.all([
          polaris.config.get(service),
          polaris.config.status(service),
          polaris.discovery.list(service),
        ]);
        const ids = [...new Set([...instances.map((i) => i.id), ...statuses.map((s) => s.instance)])].sort();
        const rows = await Promise.all(
          ids.map(async (id) => {
            const reported = statuses.find((s) => s.instance === id);
            const wanted = await polaris.config.get(service, { instance: id });
            return { instance: id, target: wanted?.version ?? null, ...(reported === undefined ? {} : { status: reported }) };
          }),
        );
        if (flags.json) return printJson({ service, current: current?.version ?? null, instances: rows });
        process.stdout.write(`${service}: current config version ${current?.version ?? 'none'}\n`);
        if (rows.length === 0) return void process.stdout.write('no live instances\n');
        printTable(
          ['INSTANCE', 'TARGET', 'APPLIED', 'RESULT', 'AT'],
          rows.map((r) => [
            r.instance,
            r.target === null ? '-' : String(r.target),
            r.status === undefined ? '-' : String(r.status.version),
            r.status === undefined ? 'no report yet' : r.status.ok ? 'ok' : `error: ${r.status.error ?? ''}`,
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
      '\nExamples:\n' +
        '  aiges config push echo tuned.toml --note "capacity 128"\n' +
        '  aiges config push echo canary.toml --instance host-1234-ab12cd   # gray release to one instance\n' +
        '  aiges config status echo\n' +
        '  aiges config rollback echo 3\n',
    );
}
