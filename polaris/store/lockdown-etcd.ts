/**
 * Polaris locked down (docs/security.md): etcd authentication on, one role per party (roles.ts).
 * `secure` makes the root user, the operator and balancer roles and users, then turns
 * authentication on; `issueLoader` makes one loader's user and role. Both run as root once
 * authentication is on (etcd lets only root manage users), and change only what differs from what
 * etcd holds, so running them again is harmless.
 */
import type { Etcd3 } from 'etcd3';
import { EtcdAuthAdmin, type Change } from './auth-etcd.js';
import { connectEtcd, type EtcdConnectOptions } from './etcd-client.js';
import { describeRefusal } from './etcd-errors.js';
import {
  BALANCER,
  balancerPermissions,
  isLoaderUser,
  type LoaderIdentity,
  loaderPermissions,
  loaderUser,
  OPERATOR,
  operatorPermissions,
  ROOT_USER,
  type Permission,
} from './roles.js';

/** Where etcd is, without credentials (root's are added where needed). */
export type EtcdAt = Omit<EtcdConnectOptions, 'username' | 'password'>;

export interface Step {
  name: string;
  kind: 'user' | 'role' | 'authentication';
  change: Change;
  /** A password set by this step and generated here (the caller shows or stores it once). */
  generated?: string;
}

/** An admin client: as root when etcd checks credentials, else without any (etcd lets anyone manage it then). */
export async function openAdmin<T>(
  at: EtcdAt,
  rootPassword: string,
  body: (admin: EtcdAuthAdmin, authOn: boolean) => Promise<T>,
): Promise<T> {
  const anonymous = connectEtcd(at);
  let root: Etcd3 | undefined;
  try {
    const authOn = await EtcdAuthAdmin.authEnabled(anonymous);
    if (authOn) root = connectEtcd({ ...at, username: ROOT_USER, password: rootPassword });
    return await body(new EtcdAuthAdmin(root ?? anonymous), authOn);
  } catch (err) {
    throw describeRefusal(err, ROOT_USER, 'manage etcd users and roles');
  } finally {
    anonymous.close();
    root?.close();
  }
}

/**
 * A user with one role of the same name. `password`: the one it must have (absent: a new user
 * gets a generated one, an existing user keeps its own, unless `rotate`).
 */
async function ensureParty(
  admin: EtcdAuthAdmin,
  authOn: boolean,
  name: string,
  permissions: readonly Permission[],
  options: { password?: string | undefined; rotate?: boolean; generate: () => string },
): Promise<Step[]> {
  const role: Step = { name, kind: 'role', change: await admin.ensureRole(name, permissions) };
  const exists = (await admin.users()).some((u) => u.name === name);
  let value = options.password;
  let replace: boolean;
  if (value !== undefined) replace = exists && !(authOn && (await admin.checkPassword(name, value)));
  else {
    replace = exists && options.rotate === true;
    if (!exists || replace) value = options.generate();
  }
  const user: Step = { name, kind: 'user', change: await admin.ensureUser(name, [name], { value: value ?? '', replace }) };
  if (options.password === undefined && value !== undefined) user.generated = value;
  return [role, user];
}

export interface SecureOptions {
  rootPassword: string;
  /** Passwords the operator and balancer users must have; absent: generated for a new user. */
  passwords: { operator?: string | undefined; balancer?: string | undefined };
  /** The balancer may read the access keys too (`aiges lb --auth aksk`). */
  balancerKeys?: boolean | undefined;
  generate: () => string;
}

/** Locks polaris down: root, the operator and balancer roles and users, authentication on. */
export function secure(at: EtcdAt, options: SecureOptions): Promise<{ authWasOn: boolean; steps: Step[] }> {
  return openAdmin(at, options.rootPassword, async (admin, authOn) => {
    const steps: Step[] = [];
    if (!authOn) {
      // etcd checks no credentials yet: root's password is whatever this run says.
      steps.push({
        name: ROOT_USER,
        kind: 'user',
        change: await admin.ensureUser(ROOT_USER, [ROOT_USER], { value: options.rootPassword, replace: true }),
      });
    }
    const { generate } = options;
    steps.push(...(await ensureParty(admin, authOn, OPERATOR, operatorPermissions(), { password: options.passwords.operator, generate })));
    steps.push(
      ...(await ensureParty(admin, authOn, BALANCER, balancerPermissions(options.balancerKeys === true), {
        password: options.passwords.balancer,
        generate,
      })),
    );
    if (!authOn) await admin.enable();
    steps.push({ name: 'authentication', kind: 'authentication', change: authOn ? 'unchanged' : 'created' });
    return { authWasOn: authOn, steps };
  });
}

export interface IssueOptions {
  rootPassword: string;
  /** The password the loader's user must have; absent: generated for a new user (or with `rotate`). */
  password?: string | undefined;
  rotate: boolean;
  generate: () => string;
}

/** One loader's user and role: `aiges-loader/<service>/<instance>`, with exactly loaderPermissions. */
export function issueLoader(at: EtcdAt, loader: LoaderIdentity, options: IssueOptions): Promise<{ user: string; steps: Step[] }> {
  const user = loaderUser(loader.service, loader.instance);
  return openAdmin(at, options.rootPassword, async (admin, authOn) => ({
    user,
    steps: await ensureParty(admin, authOn, user, loaderPermissions(loader), options),
  }));
}

export interface UserListing {
  name: string;
  roles: { name: string; permissions: Permission[] }[];
}

export function listUsers(at: EtcdAt, rootPassword: string): Promise<UserListing[]> {
  return openAdmin(at, rootPassword, async (admin) =>
    Promise.all(
      (await admin.users()).map(async (u) => ({
        name: u.name,
        // root's role is etcd's own: it may do anything, and etcd lists no permissions for it.
        roles: await Promise.all(
          u.roles.map(async (r) => ({
            name: r,
            permissions: r === ROOT_USER ? [] : await admin.permissions(r),
          })),
        ),
      })),
    ),
  );
}

/** Removes a user (a loader's with its role). Root is never removed: etcd needs it while authentication is on. */
export function removeUser(at: EtcdAt, rootPassword: string, name: string): Promise<boolean> {
  if (name === ROOT_USER) return Promise.reject(new Error('root is never removed: etcd needs it while authentication is on'));
  return openAdmin(at, rootPassword, (admin) => admin.removeUser(name, isLoaderUser(name) ? name : undefined));
}
