/**
 * What `aiges deploy render` renders: a fleet of loader services (one Deployment each) with etcd,
 * the balancer and optionally the console. Validated here once, before anything is rendered, so a
 * bad name or quantity fails with the flag that gave it rather than at `kubectl apply`.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../config/load.js';
import { ConfigSchema, type LoaderConfig } from '../../config/schema.js';
import { DeployCodes, deployError } from './errors.js';

/** One loader service: `--service NAME` and the flags after it up to the next `--service`. */
export interface ServiceSpec {
  /** Names its Kubernetes objects (`loader-<name>`): a DNS label. */
  name: string;
  /** The business image (`aiges image build … --tag`). */
  image?: string;
  /** Pods: the manual scaling knob (the HPA's minimum when --max-replicas is given). */
  replicas: number;
  /** GPUs per pod (`nvidia.com/gpu`); 0: a CPU pod. */
  gpu: number;
  /** Resource requests per pod (Kubernetes quantities). */
  cpu: string;
  memory: string;
  /** A loader config (TOML) to ship as a ConfigMap in place of the image's aiges.toml. */
  config?: string;
  /** With it, a HorizontalPodAutoscaler from `replicas` to this many pods. */
  maxReplicas?: number;
}

export interface FleetSpec {
  services: ServiceSpec[];
  /** The image the balancer and the console run (`aiges` is on its PATH). */
  baseImage: string;
  etcdImage: string;
  /** Each etcd member's volume size. */
  etcdStorage: string;
  lbReplicas: number;
  /** Render the console Deployment and Service (`aiges console`; its operator tokens from the Secret CONSOLE_TOKENS names). */
  console: boolean;
  /** A keys file (`[[keys]]` TOML, docs/security.md) shipped as a Secret: AK/SK on loaders and at the balancer. */
  keysFile?: string;
  /** The HPA's target: average once calls in flight per pod (`aiges_inflight_requests`). */
  hpaInflight: number;
}

export const SERVICE_DEFAULTS = { replicas: 1, gpu: 0, cpu: '1', memory: '1Gi' } as const;

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Longest service name: `loader-<name>-config` must stay a 63-character label. */
const MAX_NAME = 63 - 'loader--config'.length;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

function checkQuantity(flag: string, value: string): void {
  if (!QUANTITY.test(value))
    throw deployError(DeployCodes.BAD_ARGUMENT, `${flag} "${value}" is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)`);
}

/** Throws a DEPLOY_BAD_ARGUMENT naming the first problem of the fleet. */
export function checkFleet(fleet: FleetSpec): void {
  if (fleet.services.length === 0) throw deployError(DeployCodes.BAD_ARGUMENT, 'no loader service: give --service NAME --image IMAGE');
  const seen = new Set<string>();
  for (const s of fleet.services) {
    if (!DNS_LABEL.test(s.name) || s.name.length > MAX_NAME) {
      throw deployError(
        DeployCodes.BAD_ARGUMENT,
        `--service "${s.name}": a Kubernetes name: lowercase letters, digits and "-", a letter first, at most ${MAX_NAME} characters`,
      );
    }
    if (seen.has(s.name)) throw deployError(DeployCodes.BAD_ARGUMENT, `--service ${s.name} is given twice`);
    seen.add(s.name);
    if (s.image === undefined) throw deployError(DeployCodes.BAD_ARGUMENT, `--service ${s.name} needs --image (its business image)`);
    checkQuantity(`--service ${s.name} --cpu`, s.cpu);
    checkQuantity(`--service ${s.name} --memory`, s.memory);
    if (s.maxReplicas !== undefined && s.maxReplicas < Math.max(1, s.replicas)) {
      throw deployError(DeployCodes.BAD_ARGUMENT, `--service ${s.name} --max-replicas ${s.maxReplicas} is below --replicas ${s.replicas}`);
    }
  }
  checkQuantity('--etcd-storage', fleet.etcdStorage);
  if (fleet.hpaInflight < 1) throw deployError(DeployCodes.BAD_ARGUMENT, '--hpa-inflight must be at least 1');
}

/**
 * The config a service's loader starts with: its --config file validated as `aiges serve` would
 * (the plugin path is the image's business, not checked here), else the defaults.
 */
export function serviceConfig(service: ServiceSpec): { config: LoaderConfig; text?: string } {
  if (service.config === undefined) return { config: ConfigSchema.parse({}) };
  try {
    return { config: loadConfig({ file: service.config }), text: readFileSync(service.config, 'utf8') };
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : (err as Error).message;
    throw deployError(DeployCodes.BAD_INPUT, `--service ${service.name} --config: ${message}`, err);
  }
}

/** The keys file's text, for the Secret. */
export function keysText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw deployError(DeployCodes.BAD_INPUT, `--keys-file: cannot read ${file}: ${(err as Error).message}`, err);
  }
}
