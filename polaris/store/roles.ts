/**
 * Who may touch what in polaris once etcd authentication is on (`aiges polaris secure`,
 * docs/security.md "Polaris locked down"): the roles, as etcd permissions over the key layout of
 * keys.ts. Each party gets exactly what its code reads and writes:
 *
 * - the operator (`aiges config`, `aiges keys`, `aiges services ls`): read and write all of `polaris/`;
 * - a balancer (`aiges lb`): reads the instances (`polaris/services/`), and with `keys` the access
 *   keys (`aiges lb --auth aksk` checks signatures at its edge with them); it follows no config;
 * - one loader: writes its own instance record and its own config status (both under its lease:
 *   etcd lets a lease be revoked only by a user who may write every key attached to it), reads the
 *   config versions and the three keys that point it at one (`current`, `trial`, its own override),
 *   and with `keys` reads the access keys (`[auth] keys_source = "polaris"`). It cannot push or
 *   settle config, so under lockdown the pushing `aiges config push` decides a rollout.
 *
 * A user and its role share a name. Loader names hold '/', which service and instance names never
 * do, so one loader's name never reads as another's.
 */
import { accessKeyKeys, checkName, configKeys, serviceKeys } from './keys.js';

export type PermissionType = 'Read' | 'Write' | 'Readwrite';

/** One etcd permission: a single key, or every key under a prefix. */
export interface Permission {
  type: PermissionType;
  key: string;
  prefix: boolean;
}

export const ROOT_USER = 'root';
export const OPERATOR = 'aiges-operator';
export const BALANCER = 'aiges-balancer';
const LOADER_PREFIX = 'aiges-loader/';

export function operatorPermissions(): Permission[] {
  return [{ type: 'Readwrite', key: 'polaris/', prefix: true }];
}

export function balancerPermissions(keys = false): Permission[] {
  return [
    { type: 'Read', key: serviceKeys.prefix(), prefix: true },
    ...(keys ? [{ type: 'Read' as const, key: accessKeyKeys.prefix, prefix: true }] : []),
  ];
}

export interface LoaderIdentity {
  service: string;
  version: string;
  instance: string;
  /** The loader follows the access keys in polaris (`[auth] keys_source = "polaris"`). */
  keys: boolean;
}

/** The user (and role) name of one loader: `aiges-loader/<service>/<instance id>`. */
export function loaderUser(service: string, instance: string): string {
  return `${LOADER_PREFIX}${checkName('service', service)}/${checkName('instance id', instance)}`;
}

export function isLoaderUser(name: string): boolean {
  return name.startsWith(LOADER_PREFIX);
}

export function loaderPermissions(loader: LoaderIdentity): Permission[] {
  const { service, version, instance } = loader;
  return [
    { type: 'Write', key: serviceKeys.instance(service, version, instance), prefix: false },
    { type: 'Write', key: configKeys.status(service, instance), prefix: false },
    { type: 'Read', key: configKeys.versionsPrefix(service), prefix: true },
    { type: 'Read', key: configKeys.current(service), prefix: false },
    { type: 'Read', key: configKeys.trial(service), prefix: false },
    { type: 'Read', key: configKeys.override(service, instance), prefix: false },
    ...(loader.keys ? [{ type: 'Read' as const, key: accessKeyKeys.prefix, prefix: true }] : []),
  ];
}

/** "read polaris/services/*" (a prefix) or "write polaris/services/echo/1/e1" (one key), for listings. */
export function describePermission(p: Permission): string {
  const verb = p.type === 'Readwrite' ? 'read+write' : p.type.toLowerCase();
  return `${verb} ${p.key}${p.prefix ? '*' : ''}`;
}
