/**
 * `aiges polaris secure|loader-user|users`: polaris locked down (docs/security.md). `secure` turns
 * etcd authentication on with a role per party; `loader-user` issues one loader's credential;
 * `users ls|rm` show and remove them. Roles and what each may touch: polaris/store/roles.ts.
 *
 * Secrets never travel on the command line: root's password comes from --root-password-file or
 * $AIGES_POLARIS_ROOT_PASSWORD; a generated password is printed once, or written to a file only
 * its owner can read (0600) when a file or folder is named; a named file that exists already is
 * read instead, as the password the user must have.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { type EtcdAt, issueLoader, listUsers, removeUser, secure, type Step } from '../../polaris/store/lockdown-etcd.js';
import { BALANCER, describePermission, OPERATOR } from '../../polaris/store/roles.js';
import { examples } from './help.js';
import { etcdSettings, failVerb, polarisVerb, printJson, printTable, type PolarisFlags } from './polaris-flags.js';

interface AdminFlags extends PolarisFlags {
  rootPasswordFile?: string;
}

/** 24 random bytes, base64url: 32 characters, safe in TOML strings and shell variables. */
const generate = () => randomBytes(24).toString('base64url');

function readPassword(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} from ${file}: ${(err as Error).message}`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new Error(`${file} is empty: it should hold ${what}`);
  return password;
}

/** A password file: read when it exists; else where a generated password is to be written. */
function passwordFile(file: string | undefined, what: string): { password?: string; writeTo?: string } {
  if (file === undefined) return {};
  return existsSync(file) ? { password: readPassword(file, what) } : { writeTo: file };
}

function writePassword(file: string, password: string): void {
  // NOTE: 'wx': never over a file that appeared meanwhile; 0600: only its owner reads it.
  writeFileSync(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
}

function rootPassword(flags: AdminFlags, env: NodeJS.ProcessEnv = process.env): string {
  if (flags.rootPasswordFile !== undefined) return readPassword(flags.rootPasswordFile, "root's password");
  const fromEnv = env['AIGES_POLARIS_ROOT_PASSWORD'];
  if (fromEnv === undefined || fromEnv === '')
    throw new Error("root's password is needed: --root-password-file <file> or $AIGES_POLARIS_ROOT_PASSWORD");
  return fromEnv;
}

function etcdAt(flags: PolarisFlags): EtcdAt {
  const { username: _user, password: _password, ...at } = etcdSettings(flags);
  return at;
}

/** Adds the options every `aiges polaris` verb has: --etcd, --json, --root-password-file. */
function adminVerb(name: string, description: string): Command {
  return polarisVerb(name, description).option(
    '--root-password-file <file>',
    "etcd root's password, in a file (default: $AIGES_POLARIS_ROOT_PASSWORD)",
  );
}

async function run(verb: string, flags: PolarisFlags, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    failVerb(verb, flags, err);
  }
}

/** The steps as a table; generated passwords shown (where not written to a file), with a warning. */
function printSteps(steps: readonly (Step & { note?: string })[]): void {
  printTable(
    ['NAME', 'KIND', 'CHANGE', 'NOTE'],
    steps.map((s) => [s.name, s.kind, s.change, s.note ?? (s.generated === undefined ? '' : `password: ${s.generated}`)]),
  );
  if (steps.some((s) => s.generated !== undefined && s.note === undefined)) {
    process.stderr.write('The passwords are shown this once: store them now (etcd keeps only their hashes).\n');
  }
}

interface SecureFlags extends AdminFlags {
  credentialsDir?: string;
  balancerKeys?: boolean;
}

function secureVerb(): Command {
  return adminVerb(
    'secure',
    `Turn etcd authentication on, with roles: ${OPERATOR} (read and write polaris/), ${BALANCER} (read polaris/services/), root. Running it again changes only what differs.`,
  )
    .option(
      '--credentials-dir <dir>',
      `the ${OPERATOR} and ${BALANCER} passwords: read from <dir>/<user>.password where it exists, else generated and written there (0600) instead of printed`,
    )
    .option('--balancer-keys', `${BALANCER} may read the access keys too (polaris/keys/), for aiges lb --auth aksk`)
    .addHelpText(
      'after',
      '\nLoaders need a user each: aiges polaris loader-user.\n' +
        examples(
          'aiges polaris secure --etcd http://10.0.0.5:2379 --root-password-file root.password --credentials-dir creds/',
          'aiges polaris secure --etcd http://127.0.0.1:2379    # root password from $AIGES_POLARIS_ROOT_PASSWORD; prints the new passwords once',
        ),
    )
    .action(async (flags: SecureFlags) => {
      await run('polaris secure', flags, async () => {
        const files = new Map<string, { password?: string; writeTo?: string }>();
        if (flags.credentialsDir !== undefined) {
          mkdirSync(flags.credentialsDir, { recursive: true, mode: 0o700 });
          for (const user of [OPERATOR, BALANCER]) {
            files.set(user, passwordFile(join(flags.credentialsDir, `${user}.password`), `${user}'s password`));
          }
        }
        const { authWasOn, steps } = await secure(etcdAt(flags), {
          rootPassword: rootPassword(flags),
          passwords: { operator: files.get(OPERATOR)?.password, balancer: files.get(BALANCER)?.password },
          balancerKeys: flags.balancerKeys,
          generate,
        });
        const shown = steps.map((s): Step & { note?: string } => {
          const writeTo = files.get(s.name)?.writeTo;
          if (s.generated === undefined || writeTo === undefined) return s;
          writePassword(writeTo, s.generated);
          const { generated: _written, ...rest } = s;
          return { ...rest, note: `password in ${writeTo}` };
        });
        if (flags.json) {
          return printJson({
            authWasOn,
            steps: shown.map(({ generated, ...s }) => ({ ...s, ...(generated === undefined ? {} : { password: generated }) })),
          });
        }
        printSteps(shown);
        process.stdout.write(
          authWasOn
            ? 'etcd authentication was on already.\n'
            : 'etcd authentication is on: every client now needs a user (AIGES_POLARIS_USERNAME and AIGES_POLARIS_PASSWORD).\n',
        );
      });
    });
}

interface LoaderUserFlags extends AdminFlags {
  instanceId: string;
  serviceVersion: string;
  keys?: boolean;
  passwordFile?: string;
  rotate?: boolean;
}

function loaderUserVerb(): Command {
  return adminVerb(
    'loader-user',
    "Issue one loader's etcd user: it may write its own instance record and config status, and read its service's config (and with --keys the access keys). Nothing else.",
  )
    .argument('<service>', 'the service the loader registers ([polaris] service)')
    .requiredOption('--instance-id <id>', 'the instance id it registers under ([polaris] instance_id)')
    .option('--service-version <v>', 'the service version it registers ([polaris] service_version)', '1')
    .option('--keys', 'it may read the access keys too (for [auth] keys_source = "polaris")')
    .option(
      '--password-file <file>',
      'read the password from it where it exists, else write the generated one there (0600) instead of printing it',
    )
    .option('--rotate', 'an existing user gets a new password (else it keeps its own)')
    .addHelpText(
      'after',
      '\nPrints the [polaris] settings the loader needs, with the password unless written to a file.\n' +
        examples(
          'aiges polaris loader-user echo --instance-id echo-0 --root-password-file root.password',
          'aiges polaris loader-user asr --instance-id asr-pod-1 --service-version 2 --keys --password-file asr-pod-1.password',
        ),
    )
    .action(async (service: string, flags: LoaderUserFlags) => {
      await run('polaris loader-user', flags, async () => {
        const file = passwordFile(flags.passwordFile, 'the loader password');
        const { user, steps } = await issueLoader(
          etcdAt(flags),
          { service, version: flags.serviceVersion, instance: flags.instanceId, keys: flags.keys === true },
          { rootPassword: rootPassword(flags), password: file.password, rotate: flags.rotate === true, generate },
        );
        const generated = steps.find((s) => s.generated !== undefined)?.generated;
        if (generated !== undefined && file.writeTo !== undefined) writePassword(file.writeTo, generated);
        const shown = file.writeTo === undefined ? generated : undefined;
        if (flags.json) {
          const settings = { service, serviceVersion: flags.serviceVersion, instanceId: flags.instanceId, username: user };
          return printJson({
            user,
            steps: steps.map(({ generated: _g, ...s }) => s),
            settings,
            ...(shown === undefined ? {} : { password: shown }),
          });
        }
        printSteps(steps.map(({ generated: _g, ...s }) => s));
        const password =
          shown !== undefined
            ? `password = "${shown}"`
            : flags.passwordFile !== undefined
              ? `# password: in ${flags.passwordFile} (AIGES_POLARIS_PASSWORD="$(cat ${flags.passwordFile})")`
              : '# password: unchanged (--rotate sets a new one)';
        process.stdout.write(
          `\n[polaris]\nservice = "${service}"\nservice_version = "${flags.serviceVersion}"\ninstance_id = "${flags.instanceId}"\nusername = "${user}"\n${password}\n`,
        );
        if (shown !== undefined) process.stderr.write('The password is shown this once: store it now (etcd keeps only its hash).\n');
      });
    });
}

function usersCommand(): Command {
  const ls = adminVerb('ls', 'List the etcd users, their roles and what each role may touch.')
    .addHelpText('after', examples('aiges polaris users ls --root-password-file root.password', 'aiges polaris users ls --json'))
    .action(async (flags: AdminFlags) => {
      await run('polaris users ls', flags, async () => {
        const users = await listUsers(etcdAt(flags), rootPassword(flags));
        if (flags.json) return printJson(users);
        printTable(
          ['USER', 'ROLES', 'MAY'],
          users.map((u) => [
            u.name,
            u.roles.map((r) => r.name).join(','),
            u.name === 'root' ? 'everything' : u.roles.flatMap((r) => r.permissions.map(describePermission)).join(', '),
          ]),
        );
      });
    });
  const rm = adminVerb('rm', "Remove an etcd user (a loader's together with its role): it is refused from its next call on.")
    .argument('<user>', 'the user, e.g. aiges-loader/echo/echo-0')
    .addHelpText('after', examples('aiges polaris users rm aiges-loader/echo/echo-0 --root-password-file root.password'))
    .action(async (user: string, flags: AdminFlags) => {
      await run('polaris users rm', flags, async () => {
        if (!(await removeUser(etcdAt(flags), rootPassword(flags), user))) throw new Error(`no etcd user "${user}"`);
        if (flags.json) return printJson({ removed: user });
        process.stdout.write(`removed ${user}\n`);
      });
    });
  return new Command('users')
    .description('The etcd users of a locked-down polaris.')
    .addCommand(ls)
    .addCommand(rm)
    .addHelpText('after', examples('aiges polaris users ls', 'aiges polaris users rm aiges-loader/echo/echo-0'));
}

export function polarisCommand(): Command {
  return new Command('polaris')
    .description('Lock polaris down: etcd authentication, and a role for the operator, the balancers and each loader.')
    .addCommand(secureVerb())
    .addCommand(loaderUserVerb())
    .addCommand(usersCommand())
    .addHelpText(
      'after',
      examples(
        'aiges polaris secure --root-password-file root.password --credentials-dir creds/',
        'aiges polaris loader-user echo --instance-id echo-0 --root-password-file root.password',
        'aiges polaris users ls --root-password-file root.password',
      ),
    );
}
