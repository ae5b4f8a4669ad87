/**
 * The names, labels and ports the rendered manifests share, so that every cross-reference (a
 * selector, a Service's target port, an etcd URL, a Secret's name) is built from one value.
 */

/** A Kubernetes API object as rendered (validated against the API schemas by the tests). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The recommended labels; a selector uses `name` and `instance`, which no two components share. */
export function labels(component: string, instance: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': `aiges-${component}`,
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/part-of': 'aiges',
  };
}

export function selectorOf(all: Record<string, string>): Record<string, string> {
  return {
    'app.kubernetes.io/name': all['app.kubernetes.io/name'] ?? '',
    'app.kubernetes.io/instance': all['app.kubernetes.io/instance'] ?? '',
  };
}

export const ETCD = { name: 'etcd', members: 3, clientPort: 2379, peerPort: 2380, dataDir: '/var/lib/etcd' } as const;

/** etcd member i's host inside the namespace: `<pod>.<headless service>`. */
export const etcdHost = (i: number) => `${ETCD.name}-${i}.${ETCD.name}`;

/** Every member's client URL, comma-separated: what loaders, the balancer and the console are given. */
export function etcdEndpoints(): string {
  return Array.from({ length: ETCD.members }, (_, i) => `http://${etcdHost(i)}:${ETCD.clientPort}`).join(',');
}

/** The Secret holding the keys file, and where pods mount it. */
export const KEYS = { secret: 'aiges-keys', key: 'keys.toml', dir: '/etc/aiges/keys' } as const;
export const KEYS_FILE = `${KEYS.dir}/${KEYS.key}`;

/** The uid/gid of the base images' service user (docker/README.md). */
export const SERVICE_GID = 10001;

export const LB = { name: 'aiges-lb', port: 5080, drainGraceMs: 10_000 } as const;
export const CONSOLE = { name: 'aiges-console', port: 8090 } as const;
/**
 * The Secret the console's operator tokens come from (docs/console.md): made by the user, never
 * rendered, so that no token sits in the rendered files; the console's pods wait for it.
 */
export const CONSOLE_TOKENS = { secret: 'aiges-console-tokens', key: 'operator.tokens', dir: '/etc/aiges/console' } as const;

/** Past the longest stop a process may take, before the kubelet's SIGKILL. */
export const GRACE_SLACK_S = 5;
