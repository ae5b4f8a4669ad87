/**
 * `aiges deploy render --out DIR`: writes the Kubernetes manifests of a fleet (tools/deploy/;
 * guide: docs/kubernetes.md). Loader services are given on the command line, each as `--service
 * NAME` followed by its own flags (--image, --replicas, --gpu, --cpu, --memory, --config,
 * --max-replicas) up to the next `--service`; the other flags are the fleet's. Errors print as
 * `aiges deploy render: [DEPLOY_…] message` and exit 2.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { isToolError, USAGE_EXIT_CODE } from '../tools/errors.js';
import { writeFleet } from '../tools/deploy/render.js';
import { type FleetSpec, SERVICE_DEFAULTS, type ServiceSpec } from '../tools/deploy/spec.js';
import { baseImageName } from '../tools/image/dockerfile.js';
import { packageVersion } from '../tools/image/stage.js';
import { printError } from './fail.js';
import { examples } from './help.js';
import { intArg } from './serve.js';

export const DEFAULT_ETCD_IMAGE = 'quay.io/coreos/etcd:v3.5.21';

/** The fleet's own flags: FleetSpec less what the per-service flags and defaults fill in. */
type RenderFlags = Omit<FleetSpec, 'services' | 'baseImage' | 'keysFile'> & { out: string; baseImage?: string; keysFile?: string };

/**
 * The per-service flags, in the order given: commander calls each option's parser as it meets the
 * option, so each one sets its value on the service opened by the latest --service.
 */
function serviceFlags(command: Command): { services: ServiceSpec[] } {
  const state = { services: [] as ServiceSpec[] };
  const onService =
    <T>(flag: string, set: (s: ServiceSpec, v: T) => void, parse: (v: string) => T) =>
    (value: string) => {
      const current = state.services.at(-1);
      if (current === undefined) throw new InvalidArgumentError(`${flag} belongs to a service: give --service NAME before it`);
      set(current, parse(value));
    };
  const text = (v: string) => v;
  command
    .option(
      '--service <name>',
      'start a loader service (repeatable); the flags after it up to the next --service are its own',
      (name: string) => {
        state.services.push({ name, ...SERVICE_DEFAULTS });
      },
    )
    .option(
      '--image <image>',
      "the service's business image (aiges image build … --tag)",
      onService('--image', (s, v: string) => (s.image = v), text),
    )
    .option(
      '--replicas <n>',
      `pods (default ${SERVICE_DEFAULTS.replicas}); the HPA's minimum with --max-replicas`,
      onService('--replicas', (s, v: number) => (s.replicas = v), intArg),
    )
    .option(
      '--gpu <n>',
      'GPUs per pod, requested as nvidia.com/gpu (default 0)',
      onService('--gpu', (s, v: number) => (s.gpu = v), intArg),
    )
    .option(
      '--cpu <quantity>',
      `CPU request per pod (default ${SERVICE_DEFAULTS.cpu})`,
      onService('--cpu', (s, v: string) => (s.cpu = v), text),
    )
    .option(
      '--memory <quantity>',
      `memory request and limit per pod (default ${SERVICE_DEFAULTS.memory})`,
      onService('--memory', (s, v: string) => (s.memory = v), text),
    )
    .option(
      '--config <file>',
      "a loader config (TOML): a ConfigMap mounted over the image's aiges.toml",
      onService('--config', (s, v: string) => (s.config = resolve(v)), text),
    )
    .option(
      '--max-replicas <n>',
      'add a HorizontalPodAutoscaler from --replicas to this many pods',
      onService('--max-replicas', (s, v: number) => (s.maxReplicas = v), intArg),
    );
  return state;
}

function renderCommand(): Command {
  const command = new Command('render')
    .description('Write the Kubernetes manifests of a fleet: etcd, a loader Deployment per service, the balancer, the console.')
    .requiredOption('--out <dir>', 'folder to write the YAML files into (must be absent or empty)');
  const state = serviceFlags(command);
  return command
    .option('--base-image <image>', `image of the balancer and the console (default ${baseImageName(packageVersion())})`)
    .option('--etcd-image <image>', 'etcd image', DEFAULT_ETCD_IMAGE)
    .option('--etcd-storage <quantity>', "each etcd member's volume", '1Gi')
    .option('--lb-replicas <n>', 'balancer pods', intArg, 2)
    .option('--console', 'also render the console (aiges console: not in this release yet)', false)
    .option('--keys-file <file>', 'AK/SK keys file (docs/security.md) as a Secret: loaders and the balancer check signatures')
    .option('--hpa-inflight <n>', 'with --max-replicas: the target average of once calls in flight per pod', intArg, 8)
    .addHelpText(
      'after',
      examples(
        'aiges deploy render --out k8s --service echo --image echo:1',
        'aiges deploy render --out k8s --service asr --image asr:2 --gpu 1 --memory 8Gi --service tts --image tts:1 --replicas 3 --max-replicas 10',
        'aiges deploy render --out k8s --service echo --image echo:1 --config prod.toml --keys-file keys.toml --console',
      ),
    )
    .action((flags: RenderFlags) => {
      try {
        const fleet: FleetSpec = {
          services: state.services,
          baseImage: flags.baseImage ?? baseImageName(packageVersion()),
          etcdImage: flags.etcdImage,
          etcdStorage: flags.etcdStorage,
          lbReplicas: flags.lbReplicas,
          console: flags.console,
          hpaInflight: flags.hpaInflight,
          ...(flags.keysFile === undefined ? {} : { keysFile: resolve(flags.keysFile) }),
        };
        for (const path of writeFleet(fleet, resolve(flags.out))) process.stdout.write(`wrote ${path}\n`);
        process.stdout.write(`apply with: kubectl apply -f ${flags.out}\n`);
      } catch (err) {
        printError('deploy render', err);
        process.exitCode = isToolError(err) ? err.exitCode : USAGE_EXIT_CODE;
      }
    });
}

export function deployCommand(): Command {
  return new Command('deploy')
    .description('Deploy a fleet on Kubernetes: render its manifests (docs/kubernetes.md).')
    .addHelpText('after', examples('aiges deploy render --out k8s --service echo --image echo:1 && kubectl apply -f k8s'))
    .addCommand(renderCommand());
}
