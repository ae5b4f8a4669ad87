/**
 * The rows of `aiges services ls`: live instances from discovery, each with its load when a load
 * source is wired. The load comes from each loader itself (high-frequency load stays off etcd:
 * polaris/README.md); the CLI passes a source once the loaders' load stream exists. Without one the
 * load column is left out — never filled with made-up numbers.
 */
import type { Discovery, InstanceRecord } from '../store/types.js';

/** One instance's live load, as a loader reports it. */
export interface InstanceLoad {
  inflight: number;
  sessions: number;
  capacity: number;
  /** Whether it takes calls (false while starting, draining, or while its plugin cannot serve: a plugin process down, every exec slot stuck). */
  ready: boolean;
}

/** Asks the instance `record` registers for its load; undefined when it does not answer. */
export type LoadSource = (record: InstanceRecord) => Promise<InstanceLoad | undefined>;

export interface ServiceRow extends InstanceRecord {
  /** Present only when a load source is wired; null when the instance did not answer. */
  load?: InstanceLoad | null;
}

export async function serviceRows(discovery: Discovery, service: string | undefined, fetchLoad?: LoadSource): Promise<ServiceRow[]> {
  const instances = await discovery.list(service);
  if (fetchLoad === undefined) return instances;
  return Promise.all(instances.map(async (record) => ({ ...record, load: (await fetchLoad(record).catch(() => undefined)) ?? null })));
}

/** "3+1/8" (once calls + sessions / capacity), or "?" when the instance did not answer. */
export function formatLoad(load: InstanceLoad | null): string {
  return load === null ? '?' : `${load.inflight}+${load.sessions}/${load.capacity}`;
}

/** "yes" / "no" (the instance says it cannot take calls now: balancers route elsewhere), or "?" when it did not answer. */
export function formatReady(load: InstanceLoad | null): string {
  return load === null ? '?' : load.ready ? 'yes' : 'no';
}
