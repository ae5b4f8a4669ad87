/**
 * The etcd key layout of polaris (documented in types.ts), in one place. Service, version and
 * instance names never hold a '/', so a prefix never matches a longer name by accident.
 */
const ROOT = 'polaris/';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Throws on a name that would break the key layout (empty, or with '/' and the like). */
export function checkName(what: string, name: string): string {
  if (!NAME.test(name)) throw new Error(`invalid ${what} "${name}": use letters, digits, '.', '_' and '-'`);
  return name;
}

export const serviceKeys = {
  /** Every instance of every service, or of one service. */
  prefix: (service?: string) => (service === undefined ? `${ROOT}services/` : `${ROOT}services/${checkName('service', service)}/`),
  instance: (service: string, version: string, id: string) =>
    `${ROOT}services/${checkName('service', service)}/${checkName('version', version)}/${checkName('instance id', id)}`,
};

/**
 * Which registration of an instance: one instance (a loader) may register under several services
 * (a model repository's models), each under a lease of its own.
 */
export function registrationKey(service: string, id: string): string {
  return `${service}/${id}`;
}

export const configKeys = {
  /** Everything of one service's config. */
  prefix: (service: string) => `${ROOT}config/${checkName('service', service)}/`,
  versionsPrefix: (service: string) => `${ROOT}config/${checkName('service', service)}/versions/`,
  version: (service: string, n: number) => `${configKeys.versionsPrefix(service)}${n}`,
  current: (service: string) => `${ROOT}config/${checkName('service', service)}/current`,
  trial: (service: string) => `${ROOT}config/${checkName('service', service)}/trial`,
  overridesPrefix: (service: string) => `${ROOT}config/${checkName('service', service)}/instances/`,
  override: (service: string, instance: string) => `${configKeys.overridesPrefix(service)}${checkName('instance id', instance)}`,
  statusPrefix: (service: string) => `${ROOT}config/${checkName('service', service)}/status/`,
  status: (service: string, instance: string) => `${configKeys.statusPrefix(service)}${checkName('instance id', instance)}`,
};

export const accessKeyKeys = {
  prefix: `${ROOT}keys/`,
  key: (accessKey: string) => `${ROOT}keys/${checkName('access key', accessKey)}`,
};

/** Sorts stored keys by access key. */
export function byAccessKey(a: { accessKey: string }, b: { accessKey: string }): number {
  return a.accessKey < b.accessKey ? -1 : a.accessKey > b.accessKey ? 1 : 0;
}

/** Sorts instance records as Discovery promises: by service, version, id. */
export function byServiceVersionId(a: { service: string; version: string; id: string }, b: typeof a): number {
  return a.service.localeCompare(b.service) || a.version.localeCompare(b.version) || a.id.localeCompare(b.id);
}
