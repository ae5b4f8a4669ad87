/**
 * The codes of `aiges deploy`'s errors (ToolError; printed as `[CODE]`, documented in
 * docs/kubernetes.md), so that scripts and tests recognise the failure without parsing prose.
 */
import { ToolError } from '../errors.js';

export const DeployCodes = {
  /** A bad flag: a per-service flag before any --service, a bad name, quantity or count. */
  BAD_ARGUMENT: 'DEPLOY_BAD_ARGUMENT',
  /** A --config file that is not a valid loader config, or a --keys-file that cannot be read. */
  BAD_INPUT: 'DEPLOY_BAD_INPUT',
  /** The --out folder exists and holds files. */
  OUT_NOT_EMPTY: 'DEPLOY_OUT_NOT_EMPTY',
} as const;

export type DeployCode = (typeof DeployCodes)[keyof typeof DeployCodes];

export const deployError = (code: DeployCode, message: string, cause?: unknown) =>
  new ToolError(code, message, cause === undefined ? {} : { cause });
