/**
 * etcd's refusals (authentication on: a wrong password, no user, a permission the user's roles do
 * not grant) as one line that names who was refused and what for. etcd's own text says neither
 * ("etcdserver: permission denied"), so each store operation names what it needed. Errors are
 * recognised by etcd's message text, as etcd3 itself maps them (never by class: a caller may hold
 * another copy of etcd3).
 */

/** The `code` of an error `describeRefusal` made. */
export const ETCD_REFUSED = 'ETCD_REFUSED';

export type RefusedError = Error & { code: typeof ETCD_REFUSED };

const PERMISSION_DENIED = 'etcdserver: permission denied';
const AUTH_FAILED = 'etcdserver: authentication failed';
const NO_USER = 'etcdserver: user name is empty';

export function isRefusal(err: unknown): err is RefusedError {
  return (err as { code?: unknown } | undefined)?.code === ETCD_REFUSED;
}

/** Whether etcd refused the call for its credentials or permissions (rather than failing to answer). */
export function isEtcdRefusal(err: unknown): boolean {
  const message = (err as Error | undefined)?.message ?? '';
  return isRefusal(err) || [PERMISSION_DENIED, AUTH_FAILED, NO_USER].some((text) => message.includes(text));
}

/**
 * `err` as one line when etcd refused it, e.g. `etcd refused: permission denied (user
 * "aiges-balancer" may not read polaris/config/echo/, to push config)`; any other error unchanged.
 * `user` is the user the client authenticates as (undefined: none), `action` what the call needed.
 */
export function describeRefusal(err: unknown, user: string | undefined, action: string): unknown {
  if (isRefusal(err) || !(err instanceof Error)) return err;
  let message: string;
  if (err.message.includes(PERMISSION_DENIED)) {
    message = `etcd refused: permission denied (user "${user ?? ''}" may not ${action})`;
  } else if (err.message.includes(AUTH_FAILED)) {
    message = `etcd refused: authentication failed for user "${user ?? ''}" (wrong user name or password)`;
  } else if (err.message.includes(NO_USER)) {
    message = `etcd refused: authentication is on, and a client without a user may not ${action}: set [polaris] username and password, or AIGES_POLARIS_USERNAME and AIGES_POLARIS_PASSWORD`;
  } else {
    return err;
  }
  return Object.assign(new Error(message, { cause: err }), { code: ETCD_REFUSED });
}

/** Runs `call`, turning an etcd refusal into `describeRefusal`'s line. */
export async function refusedAs<T>(user: string | undefined, action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw describeRefusal(err, user, action);
  }
}
