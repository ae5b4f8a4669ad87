/**
 * etcd's users, roles and authentication switch, for `aiges polaris`. Every step checks what etcd
 * holds first and changes only what differs, so running a step again changes nothing (a role's
 * permissions are made exactly the wanted set: missing ones granted, others revoked).
 *
 * etcd 3.4 has no call that says whether authentication is on: `authEnabled` asks for the user list
 * without credentials, which etcd answers only while authentication is off.
 */
import type { Etcd3, IPermission } from 'etcd3';
import { Range } from 'etcd3';
import { isEtcdRefusal } from './etcd-errors.js';
import type { Permission, PermissionType } from './roles.js';

export type Change = 'created' | 'updated' | 'unchanged';

function rangeEnd(p: Permission): Buffer {
  return p.prefix ? Range.prefix(p.key).end : Buffer.alloc(0);
}

/** A permission as etcd returns it, back in our terms (a range that is not a prefix keeps its raw end). */
function fromEtcd(perm: IPermission): Permission & { end: string } {
  const key = perm.key.toString();
  const end = perm.range_end.toString('hex');
  const prefix = perm.range_end.length > 0 && end === Range.prefix(key).end.toString('hex');
  return { type: perm.permType as PermissionType, key, prefix, end };
}

const same = (a: Permission, b: Permission) => a.type === b.type && a.key === b.key && a.prefix === b.prefix;

export class EtcdAuthAdmin {
  constructor(private readonly client: Etcd3) {}

  /** Whether etcd checks credentials (asked without any: only a client of an etcd with auth off is answered). */
  static async authEnabled(anonymous: Etcd3): Promise<boolean> {
    try {
      await anonymous.auth.userList();
      return false;
    } catch (err) {
      if (isEtcdRefusal(err)) return true;
      throw err;
    }
  }

  async enable(): Promise<void> {
    await this.client.auth.authEnable();
  }

  async users(): Promise<{ name: string; roles: string[] }[]> {
    const { users } = await this.client.auth.userList();
    return Promise.all(users.sort().map(async (name) => ({ name, roles: (await this.client.auth.userGet({ name })).roles.sort() })));
  }

  async roles(): Promise<string[]> {
    return (await this.client.auth.roleList()).roles.sort();
  }

  async permissions(role: string): Promise<Permission[]> {
    return (await this.client.auth.roleGet({ role })).perm.map(fromEtcd).map(({ type, key, prefix }) => ({ type, key, prefix }));
  }

  /** Makes `role` hold exactly `wanted`. */
  async ensureRole(role: string, wanted: readonly Permission[]): Promise<Change> {
    let created = false;
    if (!(await this.roles()).includes(role)) {
      await this.client.auth.roleAdd({ name: role });
      created = true;
    }
    const held = (await this.client.auth.roleGet({ role })).perm.map(fromEtcd);
    let changed = false;
    for (const p of held.filter((h) => !wanted.some((w) => same(w, h)))) {
      await this.client.auth.roleRevokePermission({ role, key: Buffer.from(p.key), range_end: Buffer.from(p.end, 'hex') });
      changed = true;
    }
    for (const p of wanted.filter((w) => !held.some((h) => same(w, h)))) {
      await this.client.auth.roleGrantPermission({
        name: role,
        perm: { permType: p.type, key: Buffer.from(p.key), range_end: rangeEnd(p) },
      });
      changed = true;
    }
    return created ? 'created' : changed ? 'updated' : 'unchanged';
  }

  /**
   * Makes `name` a user holding `roles` (and only those). The password is set when the user is new;
   * for an existing user only when `password.replace` (else it is kept: a running party keeps working).
   */
  async ensureUser(name: string, roles: readonly string[], password: { value: string; replace: boolean }): Promise<Change> {
    const exists = (await this.client.auth.userList()).users.includes(name);
    let changed = false;
    if (!exists) await this.client.auth.userAdd({ name, password: password.value });
    else if (password.replace) {
      await this.client.auth.userChangePassword({ name, password: password.value });
      changed = true;
    }
    const held = exists ? (await this.client.auth.userGet({ name })).roles : [];
    for (const role of held.filter((r) => !roles.includes(r))) {
      await this.client.auth.userRevokeRole({ name, role });
      changed = true;
    }
    for (const role of roles.filter((r) => !held.includes(r))) {
      await this.client.auth.userGrantRole({ user: name, role });
      changed = true;
    }
    return !exists ? 'created' : changed ? 'updated' : 'unchanged';
  }

  /** Whether `password` is the user's (only answerable while authentication is on). */
  async checkPassword(name: string, password: string): Promise<boolean> {
    try {
      await this.client.auth.authenticate({ name, password });
      return true;
    } catch (err) {
      if (isEtcdRefusal(err)) return false;
      throw err;
    }
  }

  /** Removes a user, and its role when `withRole` names one. Resolves false when there was no such user. */
  async removeUser(name: string, withRole?: string): Promise<boolean> {
    const exists = (await this.client.auth.userList()).users.includes(name);
    if (exists) await this.client.auth.userDelete({ name });
    if (withRole !== undefined && (await this.roles()).includes(withRole)) await this.client.auth.roleDelete({ role: withRole });
    return exists;
  }
}
