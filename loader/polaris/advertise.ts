/**
 * What a loader tells polaris about itself: its instance id, the address others dial, and the
 * record it registers.
 */
import { randomBytes } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { InstanceRecord } from '../../polaris/store/types.js';

/** `<hostname>-<pid>-<random>`, with anything outside [A-Za-z0-9._-] in the hostname made '-'. */
export function newInstanceId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') || 'host';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * The host others dial: the configured one; else the bound host when it is a specific address
 * (127.0.0.1 when the server binds 127.0.0.1); else the first non-internal IPv4 address (127.0.0.1
 * when there is none).
 */
export function advertiseHost(bound: string, configured?: string): string {
  if (configured !== undefined) return configured;
  if (bound !== '0.0.0.0' && bound !== '::' && bound !== '') return bound;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface RecordInputs {
  id: string;
  service: string;
  version: string;
  host: string;
  grpcPort: number;
  httpPort: number;
  capacity: number;
  labels: Readonly<Record<string, string>>;
  /** Both ports speak TLS ([server.tls]). */
  tls?: boolean;
  startedAt: Date;
}

export function instanceRecord(inputs: RecordInputs): InstanceRecord {
  return {
    id: inputs.id,
    service: inputs.service,
    version: inputs.version,
    address: hostPort(inputs.host, inputs.grpcPort),
    httpAddress: hostPort(inputs.host, inputs.httpPort),
    protocols: ['grpc', 'http'],
    capacity: inputs.capacity,
    labels: { ...inputs.labels },
    // Written only when on: a plaintext loader's record stays as it was before TLS existed.
    ...(inputs.tls === true ? { tls: true } : {}),
    startedAt: inputs.startedAt.toISOString(),
  };
}
