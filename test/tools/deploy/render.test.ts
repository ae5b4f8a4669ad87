/**
 * `aiges deploy render`: every rendered object validates against the Kubernetes API schemas
 * (kubernetes-models: each object built with its model class, then `.validate()`), and the parts
 * are wired to each other: selectors, Service ports, probes on the loader's real health routes,
 * etcd URLs, the keys Secret, the GPU request, the drain within the grace period.
 */
import { existsSync, rmSync } from 'node:fs';
import { Deployment } from 'kubernetes-models/apps/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../../loader/config/schema.js';
import { GRPC_SHUTDOWN_GRACE_MS } from '../../../loader/loader.js';
import { HEALTH_ROUTES } from '../../../loader/server/health-routes.js';
import type { K8sObject } from '../../../loader/tools/deploy/objects.js';
import { listenArg } from '../../../loader/cli/lb.js';
import { runToExit } from '../../cli/serve-process.js';
import { argAfter, find, MODELS, type RenderedFleet, renderTestFleet } from './fleet.js';

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string }; grpc?: { port: number } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
  terminationGracePeriodSeconds?: number;
}
interface Workload {
  spec: {
    replicas: number;
    serviceName?: string;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

const workload = (o: K8sObject) => o as unknown as Workload;
const container = (o: K8sObject) => workload(o).spec.template.spec.containers[0] as Container;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

let fleet: RenderedFleet;

beforeAll(async () => {
  fleet = await renderTestFleet();
}, 60_000);

afterAll(() => rmSync(fleet.dir, { recursive: true, force: true }));

describe('aiges deploy render', () => {
  it('writes one file per part, in apply order', () => {
    expect(fleet.files).toEqual([
      '00-etcd.yaml',
      '10-keys.yaml',
      '20-loader-asr.yaml',
      '20-loader-echo.yaml',
      '30-lb.yaml',
      '40-console.yaml',
    ]);
  });

  it('renders only objects that validate against the Kubernetes API schemas', () => {
    for (const object of fleet.objects) {
      const Model = MODELS[object.kind];
      expect(Model, `no model for ${object.kind}`).toBeDefined();
      expect(
        () => new (Model as NonNullable<typeof Model>)(object as never).validate(),
        `${object.kind} ${object.metadata.name}`,
      ).not.toThrow();
    }
  });

  it('validates for real: a wrong field type fails the same check', () => {
    const bad = structuredClone(find(fleet.objects, 'Deployment', 'loader-echo')) as unknown as Workload;
    (bad.spec as unknown as Record<string, unknown>)['replicas'] = 'two';
    expect(() => new Deployment(bad as never).validate()).toThrow();
  });

  it('selects each workload by its own pod labels, and each Service reaches a named container port', () => {
    const workloads = fleet.objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
    expect(workloads.map((o) => o.metadata.name).sort()).toEqual(['aiges-console', 'aiges-lb', 'etcd', 'loader-asr', 'loader-echo']);
    for (const w of workloads) expect(matches(workload(w).spec.selector.matchLabels, workload(w).spec.template.metadata.labels)).toBe(true);
    // No selector picks another workload's pods.
    for (const w of workloads) {
      const others = workloads.filter(
        (o) => o !== w && matches(workload(w).spec.selector.matchLabels, workload(o).spec.template.metadata.labels),
      );
      expect(others.map((o) => o.metadata.name)).toEqual([]);
    }
    for (const service of fleet.objects.filter((o) => o.kind === 'Service')) {
      const spec = service['spec'] as { selector: Record<string, string>; ports: { targetPort: string }[] };
      const targets = workloads.filter((w) => matches(spec.selector, workload(w).spec.template.metadata.labels));
      expect(targets, service.metadata.name).toHaveLength(1);
      const names = (container(targets[0] as K8sObject).ports ?? []).map((p) => p.name);
      for (const port of spec.ports) expect(names).toContain(port.targetPort);
    }
  });

  it("probes each loader's ready and live routes on the HTTP port its args set", () => {
    for (const name of ['loader-echo', 'loader-asr']) {
      const c = container(find(fleet.objects, 'Deployment', name));
      const httpPort = Number(argAfter(c.args ?? [], '--http-port'));
      expect(c.ports?.find((p) => p.name === c.readinessProbe?.httpGet?.port)?.containerPort).toBe(httpPort);
      expect(c.ports?.find((p) => p.name === c.livenessProbe?.httpGet?.port)?.containerPort).toBe(httpPort);
      expect(c.readinessProbe?.httpGet?.path).toBe(HEALTH_ROUTES.ready);
      expect(c.livenessProbe?.httpGet?.path).toBe(HEALTH_ROUTES.live);
      expect(c.ports?.find((p) => p.name === 'grpc')?.containerPort).toBe(Number(argAfter(c.args ?? [], '--grpc-port')));
    }
  });

  it('points the loaders and the balancer at every etcd member through the headless Service', () => {
    const service = find(fleet.objects, 'Service', 'etcd')['spec'] as { clusterIP: string; ports: { name: string; port: number }[] };
    const sts = workload(find(fleet.objects, 'StatefulSet', 'etcd'));
    expect(service.clusterIP).toBe('None');
    expect(sts.spec.serviceName).toBe('etcd');
    expect(sts.spec.replicas).toBe(3);
    const clientPort = service.ports.find((p) => p.name === 'client')?.port;
    const peerPort = service.ports.find((p) => p.name === 'peer')?.port;
    const hosts = [0, 1, 2].map((i) => `etcd-${i}.etcd`);
    const endpoints = hosts.map((h) => `http://${h}:${clientPort}`).join(',');
    for (const name of ['loader-echo', 'loader-asr'])
      expect(argAfter(container(find(fleet.objects, 'Deployment', name)).args ?? [], '--etcd')).toBe(endpoints);
    const lb = container(find(fleet.objects, 'Deployment', 'aiges-lb'));
    expect(lb.args?.[0]).toBe('lb');
    expect(argAfter(lb.args ?? [], '--etcd')).toBe(endpoints);
    const etcdArgs = container(find(fleet.objects, 'StatefulSet', 'etcd')).args ?? [];
    expect(etcdArgs).toContain(`--initial-cluster=${hosts.map((h, i) => `etcd-${i}=http://${h}:${peerPort}`).join(',')}`);
    expect(etcdArgs).toContain(`--initial-advertise-peer-urls=http://$(POD_NAME).etcd:${peerPort}`);
    expect(etcdArgs).toContain(`--advertise-client-urls=http://$(POD_NAME).etcd:${clientPort}`);
    // The balancer's Service port is the port it listens on.
    const lbPort = listenArg(argAfter(lb.args ?? [], '--listen')).port;
    expect(lb.ports?.[0]?.containerPort).toBe(lbPort);
  });

  it('ships the keys as a Secret that the loaders and the balancer mount and use', () => {
    const secret = find(fleet.objects, 'Secret', 'aiges-keys');
    const [key] = Object.keys(secret['stringData'] as object);
    for (const name of ['loader-echo', 'loader-asr', 'aiges-lb']) {
      const pod = workload(find(fleet.objects, 'Deployment', name)).spec.template.spec;
      const volume = pod.volumes?.find((v) => v.secret?.secretName === 'aiges-keys');
      expect(volume, name).toBeDefined();
      const mount = pod.containers[0]?.volumeMounts?.find((m) => m.name === volume?.name);
      const path = `${mount?.mountPath}/${key}`;
      const c = pod.containers[0] as Container;
      if (name === 'aiges-lb') expect(argAfter(c.args ?? [], '--auth-keys-file')).toBe(path);
      else expect(c.env?.find((e) => e.name === 'AIGES_AUTH_KEYS_FILE')?.value).toBe(path);
    }
  });

  it("mounts a service's config over the image's aiges.toml, the file its args name", () => {
    const map = find(fleet.objects, 'ConfigMap', 'loader-echo-config');
    const pod = workload(find(fleet.objects, 'Deployment', 'loader-echo')).spec.template.spec;
    const volume = pod.volumes?.find((v) => v.configMap?.name === map.metadata.name);
    const mount = pod.containers[0]?.volumeMounts?.find((m) => m.name === volume?.name);
    expect(mount?.mountPath).toBe(argAfter(pod.containers[0]?.args ?? [], '--config'));
    expect(Object.keys(map['data'] as object)).toEqual([mount?.subPath]);
    // asr has no --config: the image's own aiges.toml, no ConfigMap.
    expect(fleet.objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'loader-asr-config')).toBe(false);
  });

  it('requests nvidia.com/gpu for the GPU service only, with its CPU and memory', () => {
    const asr = container(find(fleet.objects, 'Deployment', 'loader-asr')).resources;
    expect(asr?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(asr?.requests).toMatchObject({ cpu: '4', memory: '8Gi', 'nvidia.com/gpu': '1' });
    const echo = container(find(fleet.objects, 'Deployment', 'loader-echo')).resources;
    expect(echo?.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(echo?.requests).toEqual({ cpu: '1', memory: '1Gi' });
  });

  it('drains in preStop within a grace period that fits drain_grace_ms, fini and the gRPC close', () => {
    const defaults = ConfigSchema.parse({});
    const stopMs = (drain: number) => drain + defaults.plugin.fini_timeout_ms + GRPC_SHUTDOWN_GRACE_MS;
    const cases = [
      ['loader-echo', stopMs(20_000)], // its --config sets drain_grace_ms = 20000
      ['loader-asr', stopMs(defaults.limits.drain_grace_ms)],
    ] as const;
    for (const [name, ms] of cases) {
      const pod = workload(find(fleet.objects, 'Deployment', name)).spec.template.spec;
      expect(pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(ms);
      expect(pod.containers[0]?.lifecycle?.preStop?.exec?.command.join(' ')).toMatch(
        /^node \/opt\/aiges\/dist\/loader\/tools\/image\/drain\.js$/,
      );
    }
    const lb = workload(find(fleet.objects, 'Deployment', 'aiges-lb'));
    expect(lb.spec.template.spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(
      Number(argAfter(container(find(fleet.objects, 'Deployment', 'aiges-lb')).args ?? [], '--drain-grace-ms')),
    );
  });

  it('scales asr with an HPA on the in-flight metric, from its replicas; echo by replicas alone', () => {
    const hpa = find(fleet.objects, 'HorizontalPodAutoscaler', 'loader-asr')['spec'] as {
      scaleTargetRef: { kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
      metrics: { pods: { metric: { name: string } } }[];
    };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'loader-asr' });
    expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([1, 6]);
    expect(hpa.metrics[0]?.pods.metric.name).toBe('aiges_inflight_requests');
    expect(workload(find(fleet.objects, 'Deployment', 'loader-echo')).spec.replicas).toBe(2);
    expect(fleet.objects.some((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'loader-echo')).toBe(false);
  });

  it('refuses bad input with a code and exit 2, writing nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--image', 'x:1'], /--image belongs to a service/],
      [['--service', 'Echo_1', '--image', 'x:1'], /\[DEPLOY_BAD_ARGUMENT\] --service "Echo_1"/],
      [['--service', 'echo'], /\[DEPLOY_BAD_ARGUMENT\] --service echo needs --image/],
      [['--service', 'echo', '--image', 'x:1', '--memory', 'lots'], /\[DEPLOY_BAD_ARGUMENT\].*--memory "lots"/],
      [['--service', 'echo', '--image', 'x:1', '--config', `${fleet.dir}/missing.toml`], /\[DEPLOY_BAD_INPUT\]/],
      [['--service', 'echo', '--image', 'x:1', '--replicas', '3', '--max-replicas', '2'], /--max-replicas 2 is below --replicas 3/],
    ];
    for (const [args, message] of cases) {
      const out = `${fleet.dir}/bad`;
      const result = await runToExit(['deploy', 'render', '--out', out, ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/^aiges deploy render: /);
      expect(existsSync(out)).toBe(false);
    }
    const full = await runToExit(['deploy', 'render', '--out', fleet.out, '--service', 'echo', '--image', 'x:1']);
    expect(full.code).toBe(2);
    expect(full.stderr).toMatch(/\[DEPLOY_OUT_NOT_EMPTY\]/);
  });
});
