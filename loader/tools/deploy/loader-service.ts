/**
 * One loader service: a Deployment of its business image (`aiges serve`, the image's entrypoint),
 * its config as a ConfigMap, and optionally a HorizontalPodAutoscaler.
 *
 * - Probes: readiness on the loader's ready route, liveness on its live route (server/health-routes.ts),
 *   on the HTTP port the args give (https when the config has [server.tls]).
 * - Stop: the preStop hook (tools/image/drain.ts) sends the loader SIGTERM and waits for it to exit;
 *   the loader then goes not ready, deregisters from polaris, drains for up to `limits.drain_grace_ms`,
 *   runs fini for up to `plugin.fini_timeout_ms` and closes its gRPC streams. The pod's
 *   terminationGracePeriodSeconds covers all of that (`stopBudgetMs`) plus slack.
 * - Polaris: `--etcd` names every etcd member; the instance id is the pod name (downward API), the
 *   advertised address the pod IP (the loader's default: its first non-internal IPv4 address).
 * - Config: the ConfigMap's aiges.toml is mounted over the image's (subPath), so a `[plugin] path`
 *   relative to it still names the plugin in the image. A subPath mount is not updated in place:
 *   config changes at run time go through polaris (`aiges config push`), as outside Kubernetes.
 * - Scaling: `replicas` by hand; with --max-replicas an HPA on `aiges_inflight_requests` per pod,
 *   which Kubernetes sees only through a custom metrics adapter (e.g. prometheus-adapter).
 */
import { ConfigSchema, type LoaderConfig } from '../../config/schema.js';
import { GRPC_SHUTDOWN_GRACE_MS } from '../../loader.js';
import { HEALTH_ROUTES } from '../../server/health-routes.js';
import { PLUGIN_DIR } from '../image/dockerfile.js';
import { OPT } from '../image/stage.js';
import { etcdEndpoints, GRACE_SLACK_S, type K8sObject, KEYS, KEYS_FILE, labels, SERVICE_GID, selectorOf } from './objects.js';
import type { ServiceSpec } from './spec.js';

/** The config path the image's CMD names, where the ConfigMap's file is mounted. */
export const IMAGE_CONFIG = `${PLUGIN_DIR}/aiges.toml`;
export const DRAIN_COMMAND = ['node', `${OPT}/dist/loader/tools/image/drain.js`];
/** The metric the HPA follows (loader/metrics.ts), averaged over the service's pods. */
export const HPA_METRIC = 'aiges_inflight_requests';

/** The longest a loader takes from SIGTERM to exit: drain, fini, then its gRPC streams. */
export function stopBudgetMs(config: LoaderConfig): number {
  return config.limits.drain_grace_ms + config.plugin.fini_timeout_ms + GRPC_SHUTDOWN_GRACE_MS;
}

export const graceSeconds = (config: LoaderConfig) => Math.ceil(stopBudgetMs(config) / 1000) + GRACE_SLACK_S;

export interface LoaderInput {
  service: ServiceSpec;
  config: LoaderConfig;
  /** The --config file's text; absent: the image's own aiges.toml. */
  configText?: string;
  /** Whether the fleet has a keys Secret (AK/SK on every loader). */
  keys: boolean;
  hpaInflight: number;
}

const DEFAULT_SERVER = ConfigSchema.parse({}).server;

export const loaderName = (service: string) => `loader-${service}`;

export function loaderObjects(input: LoaderInput): K8sObject[] {
  const { service, config } = input;
  const name = loaderName(service.name);
  const all = labels('loader', service.name);
  const objects: K8sObject[] = [];
  const mounts: object[] = [];
  const volumes: object[] = [];
  if (input.configText !== undefined) {
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-config`, labels: all },
      data: { 'aiges.toml': input.configText },
    });
    mounts.push({ name: 'config', mountPath: IMAGE_CONFIG, subPath: 'aiges.toml', readOnly: true });
    volumes.push({ name: 'config', configMap: { name: `${name}-config` } });
  }
  const env: object[] = [{ name: 'AIGES_POLARIS_INSTANCE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }];
  if (input.keys) {
    env.push({ name: 'AIGES_AUTH_MODE', value: 'aksk' }, { name: 'AIGES_AUTH_KEYS_FILE', value: KEYS_FILE });
    mounts.push({ name: 'keys', mountPath: KEYS.dir, readOnly: true });
    volumes.push({ name: 'keys', secret: { secretName: KEYS.secret, defaultMode: 0o440 } });
  }
  const scheme = config.server.tls === undefined ? 'HTTP' : 'HTTPS';
  // A config's port 0 ("pick a free one") cannot be probed: the image's defaults instead.
  const grpcPort = config.server.grpc_port || DEFAULT_SERVER.grpc_port;
  const httpPort = config.server.http_port || DEFAULT_SERVER.http_port;
  const gpu = service.gpu > 0 ? { 'nvidia.com/gpu': String(service.gpu) } : {};
  objects.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { ...all, 'app.kubernetes.io/component': 'loader' } },
    spec: {
      replicas: service.replicas,
      selector: { matchLabels: selectorOf(all) },
      template: {
        metadata: {
          labels: all,
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(httpPort), 'prometheus.io/path': '/metrics' },
        },
        spec: {
          terminationGracePeriodSeconds: graceSeconds(config),
          securityContext: { fsGroup: SERVICE_GID },
          containers: [
            {
              name: 'loader',
              image: service.image,
              args: [
                '--config',
                IMAGE_CONFIG,
                '--host',
                '0.0.0.0',
                '--grpc-port',
                String(grpcPort),
                '--http-port',
                String(httpPort),
                '--etcd',
                etcdEndpoints(),
              ],
              env,
              ports: [
                { name: 'grpc', containerPort: grpcPort },
                { name: 'http', containerPort: httpPort },
              ],
              readinessProbe: { httpGet: { path: HEALTH_ROUTES.ready, port: 'http', scheme }, periodSeconds: 2, failureThreshold: 1 },
              livenessProbe: { httpGet: { path: HEALTH_ROUTES.live, port: 'http', scheme }, periodSeconds: 10, failureThreshold: 3 },
              lifecycle: { preStop: { exec: { command: DRAIN_COMMAND } } },
              resources: {
                requests: { cpu: service.cpu, memory: service.memory, ...gpu },
                limits: { memory: service.memory, ...gpu },
              },
              volumeMounts: mounts,
            },
          ],
          volumes,
          // GPU nodes are commonly tainted so that only GPU pods land there.
          ...(service.gpu > 0 ? { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] } : {}),
        },
      },
    },
  });
  if (service.maxReplicas !== undefined) {
    objects.push({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name, labels: all },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas: Math.max(1, service.replicas),
        maxReplicas: service.maxReplicas,
        metrics: [
          {
            type: 'Pods',
            pods: { metric: { name: HPA_METRIC }, target: { type: 'AverageValue', averageValue: String(input.hpaInflight) } },
          },
        ],
      },
    });
  }
  return objects;
}
