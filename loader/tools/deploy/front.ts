/**
 * The fronts: the balancer (`aiges lb`, Deployment + Service) and the console (`aiges console`,
 * Deployment + Service; rendered only with --console). Both run the base image with `aiges` as the
 * command and find everything through etcd.
 */
import {
  CONSOLE,
  CONSOLE_TOKENS,
  etcdEndpoints,
  GRACE_SLACK_S,
  type K8sObject,
  KEYS,
  KEYS_FILE,
  LB,
  labels,
  SERVICE_GID,
  selectorOf,
} from './objects.js';

interface Front {
  name: string;
  component: string;
  image: string;
  replicas: number;
  args: string[];
  port: { name: string; number: number; servicePort: number };
  probe: object;
  graceSeconds: number;
  /** A Secret mounted read-only (the keys file, the console's tokens). */
  secret?: { name: string; mountPath: string };
}

function frontObjects(front: Front): K8sObject[] {
  const all = labels(front.component, front.name);
  const { secret } = front;
  const secretMounts = secret === undefined ? [] : [{ name: 'secret', mountPath: secret.mountPath, readOnly: true }];
  const secretVolumes = secret === undefined ? [] : [{ name: 'secret', secret: { secretName: secret.name, defaultMode: 0o440 } }];
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: front.name, labels: { ...all, 'app.kubernetes.io/component': front.component } },
      spec: {
        replicas: front.replicas,
        selector: { matchLabels: selectorOf(all) },
        template: {
          metadata: { labels: all },
          spec: {
            terminationGracePeriodSeconds: front.graceSeconds,
            securityContext: { fsGroup: SERVICE_GID },
            containers: [
              {
                name: front.component,
                image: front.image,
                command: ['aiges'],
                args: front.args,
                ports: [{ name: front.port.name, containerPort: front.port.number }],
                readinessProbe: front.probe,
                livenessProbe: front.probe,
                resources: { requests: { cpu: '500m', memory: '256Mi' } },
                volumeMounts: secretMounts,
              },
            ],
            volumes: secretVolumes,
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: front.name, labels: all },
      spec: {
        selector: selectorOf(all),
        ports: [{ name: front.port.name, port: front.port.servicePort, targetPort: front.port.name }],
      },
    },
  ];
}

/** `aiges lb` in front of every service a request names; AK/SK at the edge with the fleet's keys. */
export function balancerObjects(image: string, replicas: number, keys: boolean): K8sObject[] {
  const auth = keys ? ['--auth', 'aksk', '--auth-keys-file', KEYS_FILE] : [];
  return frontObjects({
    name: LB.name,
    component: 'lb',
    image,
    replicas,
    args: ['lb', '--etcd', etcdEndpoints(), '--listen', `0.0.0.0:${LB.port}`, '--drain-grace-ms', String(LB.drainGraceMs), ...auth],
    port: { name: 'grpc', number: LB.port, servicePort: LB.port },
    // The balancer's own grpc.health.v1 (service ""): SERVING while it runs.
    probe: { grpc: { port: LB.port }, periodSeconds: 5 },
    graceSeconds: Math.ceil(LB.drainGraceMs / 1000) + GRACE_SLACK_S,
    ...(keys ? { secret: { name: KEYS.secret, mountPath: KEYS.dir } } : {}),
  });
}

/**
 * `aiges console` (docs/console.md): operators log in with a token of the Secret CONSOLE_TOKENS
 * names, which the user creates (docs/kubernetes.md); one replica, as its sessions live in memory.
 */
export function consoleObjects(image: string): K8sObject[] {
  return frontObjects({
    name: CONSOLE.name,
    component: 'console',
    image,
    replicas: 1,
    args: [
      'console',
      '--etcd',
      etcdEndpoints(),
      '--listen',
      `0.0.0.0:${CONSOLE.port}`,
      '--operator-token-file',
      `${CONSOLE_TOKENS.dir}/${CONSOLE_TOKENS.key}`,
    ],
    port: { name: 'http', number: CONSOLE.port, servicePort: 80 },
    // GET /api/me answers without a login once the console serves.
    probe: { httpGet: { path: '/api/me', port: 'http' }, periodSeconds: 10 },
    graceSeconds: GRACE_SLACK_S,
    secret: { name: CONSOLE_TOKENS.secret, mountPath: CONSOLE_TOKENS.dir },
  });
}
