/**
 * The AK/SK credentials of the client tools (`aiges call`, `aiges xtest`): `--access-key` and
 * `--secret-key`, else $AIGES_ACCESS_KEY and $AIGES_SECRET_KEY (which keep the secret out of the
 * process list and the shell history). Neither: calls go unsigned.
 */
import type { Command } from 'commander';
import type { AkSkCredentials } from '../../plugins/aksk.js';
import { ToolError } from './errors.js';

export interface CredentialFlags {
  accessKey?: string;
  secretKey?: string;
}

/** Adds --access-key and --secret-key to a client verb. */
export function credentialOptions(command: Command): Command {
  return command
    .option('--access-key <key>', 'sign calls with this access key (AK/SK; default $AIGES_ACCESS_KEY)')
    .option('--secret-key <base64>', 'the secret key of --access-key (default $AIGES_SECRET_KEY, which stays out of ps)');
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The credentials the flags or environment give; `invalid` is the tool's code for a bad flag. */
export function credentialsOf(flags: CredentialFlags, invalid: string, env: NodeJS.ProcessEnv = process.env): AkSkCredentials | undefined {
  const accessKey = flags.accessKey ?? env['AIGES_ACCESS_KEY'];
  const secretKey = flags.secretKey ?? env['AIGES_SECRET_KEY'];
  if (accessKey === undefined && secretKey === undefined) return undefined;
  if (accessKey === undefined || secretKey === undefined || accessKey === '') {
    throw new ToolError(
      invalid,
      'an access key and its secret key go together: --access-key and --secret-key (or $AIGES_ACCESS_KEY and $AIGES_SECRET_KEY)',
    );
  }
  // NOTE: the message never repeats the secret.
  if (!BASE64.test(secretKey)) throw new ToolError(invalid, 'the secret key must be base64, as issued');
  return { accessKey, secretKey };
}
