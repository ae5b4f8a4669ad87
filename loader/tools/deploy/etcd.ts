/**
 * etcd for polaris: a 3-member StatefulSet behind a headless Service. Each member's peer and
 * client URLs are its stable DNS name (`etcd-<i>.etcd`); the members start in parallel (an
 * OrderedReady start would wait for a member that cannot be ready before it has a quorum) and keep
 * their data on a volume of their own. Plain HTTP and no auth: docs/kubernetes.md says how to lock
 * it down (docs/security.md).
 */
import { ETCD, etcdHost, type K8sObject, labels, selectorOf } from './objects.js';

export function etcdObjects(image: string, storage: string): K8sObject[] {
  const all = labels('etcd', ETCD.name);
  const ports = [
    { name: 'client', containerPort: ETCD.clientPort },
    { name: 'peer', containerPort: ETCD.peerPort },
  ];
  const cluster = Array.from({ length: ETCD.members }, (_, i) => `${ETCD.name}-${i}=http://${etcdHost(i)}:${ETCD.peerPort}`).join(',');
  const service: K8sObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: ETCD.name, labels: all },
    spec: {
      clusterIP: 'None',
      // Members must find each other by name before any is ready.
      publishNotReadyAddresses: true,
      selector: selectorOf(all),
      ports: ports.map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.name })),
    },
  };
  const statefulSet: K8sObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: ETCD.name, labels: all },
    spec: {
      serviceName: ETCD.name,
      replicas: ETCD.members,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selectorOf(all) },
      template: {
        metadata: { labels: all },
        spec: {
          containers: [
            {
              name: 'etcd',
              image,
              command: ['etcd'],
              args: [
                '--name=$(POD_NAME)',
                `--data-dir=${ETCD.dataDir}`,
                `--listen-client-urls=http://0.0.0.0:${ETCD.clientPort}`,
                `--advertise-client-urls=http://$(POD_NAME).${ETCD.name}:${ETCD.clientPort}`,
                `--listen-peer-urls=http://0.0.0.0:${ETCD.peerPort}`,
                `--initial-advertise-peer-urls=http://$(POD_NAME).${ETCD.name}:${ETCD.peerPort}`,
                `--initial-cluster=${cluster}`,
                '--initial-cluster-token=aiges-etcd',
                '--initial-cluster-state=new',
              ],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports,
              readinessProbe: { httpGet: { path: '/health', port: 'client' }, periodSeconds: 5 },
              resources: { requests: { cpu: '100m', memory: '256Mi' } },
              volumeMounts: [{ name: 'data', mountPath: ETCD.dataDir }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
        },
      ],
    },
  };
  return [service, statefulSet];
}
